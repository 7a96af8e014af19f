#!/usr/bin/env bash
# Smoke test of the compiled binary itself: copied alone into an empty directory, started with
# nothing but POSTHORN_ADMIN_KEY, it must create its data directory, migrate, serve the API, the
# OpenAPI document and the offline docs, and manage tenants and keys from its CLI while serving.
# Run once on SQLite (the default) and once on Postgres (a schema of its own, dropped after).
#
#   .ci/smoke.sh dist/posthorn                 both dialects
#   .ci/smoke.sh dist/posthorn --sqlite-only   no Postgres at hand
#
# Postgres: POSTHORN_SMOKE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
# Needs curl; JSON is read with jq, bun or node, whichever is present (else the binary itself).
set -euo pipefail

usage() { echo "usage: $0 BINARY [--sqlite-only]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
BINARY=$(realpath "$1")
SQLITE_ONLY=false
[[ "${2:-}" == "--sqlite-only" ]] && SQLITE_ONLY=true
[[ -x "$BINARY" ]] || { echo "smoke: $1 is not an executable file" >&2; exit 2; }
command -v curl >/dev/null || { echo "smoke: curl is required" >&2; exit 2; }

PG_BASE_URL=${POSTHORN_SMOKE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
ADMIN_KEY="smoke-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
READY_TIMEOUT_S=30
STOP_TIMEOUT_S=10
MIN_SCALAR_BYTES=1000000

# State the cleanup trap needs.
WORK_DIRS=()
SERVER_PID=""
PG_SCHEMA=""

fail() {
  echo "SMOKE FAILED [${LABEL:-setup}]: $*" >&2
  if [[ -n "${WORK:-}" && -f "$WORK/serve.log" ]]; then
    echo "---- last lines of the server log ----" >&2
    tail -n 20 "$WORK/serve.log" >&2 || true
  fi
  exit 1
}
ok() { echo "  ok  $*"; }

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n "$PG_SCHEMA" ]]; then pg_sql "drop schema if exists $PG_SCHEMA cascade" >/dev/null 2>&1 || true; fi
  for d in "${WORK_DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

# json FILE EXPR: prints the value of a JS expression over the parsed file `o` (e.g. o.tenant.id).
json() {
  local file=$1 expr=$2
  local script="const o=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'));const v=($expr);console.log(typeof v==='string'?v:JSON.stringify(v));"
  if command -v bun >/dev/null; then bun -e "$script" "$file"
  elif command -v node >/dev/null; then node -e "$script" "$file"
  else BUN_BE_BUN=1 "$BINARY" -e "$script" "$file"
  fi
}

# pg_sql SQL: runs one statement on the Postgres server (psql when present, else postgres.js).
pg_sql() {
  if command -v psql >/dev/null; then
    PGOPTIONS="-c client_min_messages=warning" psql "$PG_BASE_URL" -v ON_ERROR_STOP=1 -qAtc "$1"
  else
    local repo
    repo=$(cd "$(dirname "$0")/.." && pwd)
    (cd "$repo" && bun -e "import postgres from 'postgres'; const s = postgres(process.argv[1], { max: 1, onnotice() {} }); await s.unsafe(process.argv[2]); await s.end();" "$PG_BASE_URL" "$1")
  fi
}

free_port() {
  local port
  for _ in $(seq 1 50); do
    # Below the kernel's ephemeral range (32768–60999 here): a port some outgoing connection
    # holds as its local end refuses a connect test but still cannot be listened on.
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  fail "no free port found"
}

# http NAME URL [curl args…]: fetches into $WORK/NAME.body; sets STATUS, CTYPE, SIZE.
http() {
  local name=$1 url=$2
  shift 2
  local out
  out=$(curl -sS -o "$WORK/$name.body" -D "$WORK/$name.headers" -w '%{http_code} %{size_download} %{content_type}' "$@" "$url") ||
    fail "GET $url: curl failed"
  STATUS=${out%% *}
  out=${out#* }
  SIZE=${out%% *}
  CTYPE=${out#* }
}

header() { grep -i "^$2:" "$WORK/$1.headers" | head -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

# The binary with a clean environment: only what a user would set.
run_posthorn() { env -i PATH="$PATH" HOME="$WORK" "${DB_ENV[@]}" POSTHORN_ADMIN_KEY="$ADMIN_KEY" ./posthorn "$@"; }

smoke() {
  LABEL=$1
  DB_ENV=()
  [[ -n "${2:-}" ]] && DB_ENV=("DATABASE_URL=$2")
  echo
  echo "---- smoke: $LABEL ----"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/posthorn-smoke.XXXXXX")
  WORK_DIRS+=("$WORK")
  cp "$BINARY" "$WORK/posthorn"
  cd "$WORK"
  [[ ! -e data ]] || fail "fresh directory already has data/"

  run_posthorn --help >"$WORK/help.out" || fail "posthorn --help exited non-zero"
  grep -q "^Usage: posthorn <command>" "$WORK/help.out" || fail "posthorn --help printed no usage"
  ok "posthorn --help"
  local version
  version=$(run_posthorn version) || fail "posthorn version exited non-zero"
  [[ "$version" =~ ^posthorn\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "posthorn version printed '$version'"
  ok "posthorn version ($version)"

  local port base
  port=$(free_port)
  base="http://127.0.0.1:$port"
  # exec, so that $! is the server itself and SIGTERM reaches it, not a wrapping subshell.
  (exec env -i PATH="$PATH" HOME="$WORK" "${DB_ENV[@]}" POSTHORN_ADMIN_KEY="$ADMIN_KEY" ./posthorn serve --port "$port") \
    >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!

  local waited=0
  until curl -fsS -o /dev/null "$base/health/ready" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || fail "posthorn serve exited before it was ready"
    ((waited++ < READY_TIMEOUT_S * 10)) || fail "not ready within ${READY_TIMEOUT_S}s"
    sleep 0.1
  done
  ok "ready after ~$((waited / 10)).$((waited % 10))s on port $port"

  http health "$base/health"
  [[ "$STATUS" == 200 ]] || fail "/health answered $STATUS"
  ok "/health 200"

  http openapi "$base/openapi.json"
  [[ "$STATUS" == 200 ]] || fail "/openapi.json answered $STATUS"
  [[ "$(json "$WORK/openapi.body" 'o.openapi')" == "3.1.0" ]] || fail "/openapi.json is not OpenAPI 3.1.0 JSON"
  [[ "$(json "$WORK/openapi.body" 'Boolean(o.components.securitySchemes.ApiKey)')" == true ]] ||
    fail "/openapi.json has no ApiKey security scheme"
  ok "/openapi.json is JSON, openapi 3.1.0, ApiKey scheme"

  http docs "$base/docs"
  [[ "$STATUS" == 200 ]] || fail "/docs answered $STATUS"
  grep -q '/docs/scalar.js' "$WORK/docs.body" || fail "/docs does not load /docs/scalar.js"
  if grep -Eo '(src|href)="https?://[^"]*"' "$WORK/docs.body"; then fail "/docs loads something from outside"; fi
  ok "/docs 200, loads /docs/scalar.js and nothing from outside"

  http scalar "$base/docs/scalar.js"
  [[ "$STATUS" == 200 ]] || fail "/docs/scalar.js answered $STATUS"
  ((SIZE > MIN_SCALAR_BYTES)) || fail "/docs/scalar.js is only $SIZE bytes"
  http scalar-gz "$base/docs/scalar.js" -H "Accept-Encoding: gzip"
  [[ "$STATUS" == 200 ]] || fail "/docs/scalar.js (gzip) answered $STATUS"
  ((SIZE > MIN_SCALAR_BYTES)) || fail "/docs/scalar.js (gzip) is only $SIZE bytes"
  [[ "$(header scalar-gz content-encoding)" == gzip ]] || fail "/docs/scalar.js ignored Accept-Encoding: gzip"
  if command -v gzip >/dev/null; then
    gzip -dc "$WORK/scalar-gz.body" | cmp -s - "$WORK/scalar.body" || fail "gzipped /docs/scalar.js differs from plain"
  fi
  ok "/docs/scalar.js 200: $(wc -c <"$WORK/scalar.body") bytes plain, $SIZE gzipped"

  http me-anon "$base/v1/me"
  [[ "$STATUS" == 401 ]] || fail "GET /v1/me without a key answered $STATUS, not 401"
  [[ "$CTYPE" == application/problem+json* ]] || fail "401 came as '$CTYPE', not application/problem+json"
  [[ -n "$(header me-anon x-request-id)" ]] || fail "401 has no X-Request-Id"
  ok "GET /v1/me without a key: 401 application/problem+json"

  # Tenant and key from the CLI while the server runs on the same database.
  run_posthorn tenant create --name Smoke --json >"$WORK/tenant.json" || fail "tenant create failed"
  local tenant_id
  tenant_id=$(json "$WORK/tenant.json" 'o.id')
  [[ "$tenant_id" == ten_* ]] || fail "tenant create printed no tenant id"
  run_posthorn key create --tenant "$tenant_id" --name smoke --json >"$WORK/key.json" || fail "key create failed"
  local api_key key_id
  api_key=$(json "$WORK/key.json" 'o.key')
  key_id=$(json "$WORK/key.json" 'o.id')
  [[ "$api_key" == ph_* ]] || fail "key create printed no key"
  ok "CLI: tenant $tenant_id, key $key_id"

  http me "$base/v1/me" -H "X-API-Key: $api_key"
  [[ "$STATUS" == 200 ]] || fail "GET /v1/me with the new key answered $STATUS"
  [[ "$(json "$WORK/me.body" 'o.tenant.id')" == "$tenant_id" ]] || fail "GET /v1/me answered another tenant"
  http me-bearer "$base/v1/me" -H "Authorization: Bearer $api_key"
  [[ "$STATUS" == 200 ]] || fail "GET /v1/me with Authorization: Bearer answered $STATUS"
  ok "GET /v1/me with the key: 200, tenant $tenant_id"

  http tenants "$base/v1/tenants" -H "X-API-Key: $ADMIN_KEY"
  [[ "$STATUS" == 200 ]] || fail "GET /v1/tenants with the admin key answered $STATUS"
  [[ "$(json "$WORK/tenants.body" "o.data.some((t) => t.id === '$tenant_id')")" == true ]] ||
    fail "the operator API does not list the tenant the CLI created"
  ok "operator API lists the tenant"

  run_posthorn healthcheck --port "$port" >/dev/null || fail "posthorn healthcheck --port $port exited non-zero"
  ok "posthorn healthcheck"

  [[ -f data/secret.key ]] || fail "data/secret.key was not created"
  [[ "$(stat -c %a data/secret.key)" == 600 ]] || fail "data/secret.key has mode $(stat -c %a data/secret.key), not 600"
  if [[ ${#DB_ENV[@]} -eq 0 ]]; then
    [[ -f data/posthorn.db ]] || fail "data/posthorn.db was not created"
    ok "data/posthorn.db and data/secret.key (600) exist"
  else
    [[ ! -e data/posthorn.db ]] || fail "data/posthorn.db exists although DATABASE_URL is set"
    ok "data/secret.key (600) exists, no SQLite file"
  fi

  grep -q "$api_key" "$WORK/serve.log" && fail "the server log contains the API key"
  grep -q "$ADMIN_KEY" "$WORK/serve.log" && fail "the server log contains the admin key"
  ok "the server log holds neither key"

  kill -TERM "$SERVER_PID"
  local ticks=0
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    ((ticks++ < STOP_TIMEOUT_S * 10)) || fail "still running ${STOP_TIMEOUT_S}s after SIGTERM"
    sleep 0.1
  done
  local code=0
  wait "$SERVER_PID" || code=$?
  SERVER_PID=""
  [[ $code -eq 0 ]] || fail "exited $code after SIGTERM, not 0"
  ok "SIGTERM: exited 0 after ~$((ticks / 10)).$((ticks % 10))s"
  cd - >/dev/null
}

smoke sqlite

if [[ "$SQLITE_ONLY" == false ]]; then
  LABEL=postgres
  PG_SCHEMA="smoke_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  pg_sql "create schema $PG_SCHEMA" || fail "cannot create schema $PG_SCHEMA on $PG_BASE_URL"
  # postgres.js hands unknown URL parameters to the server as connection settings.
  sep='?'
  [[ "$PG_BASE_URL" == *\?* ]] && sep='&'
  smoke postgres "${PG_BASE_URL}${sep}search_path=${PG_SCHEMA}"
  tables=$(pg_sql "select count(*) from information_schema.tables where table_schema = '$PG_SCHEMA' and table_name in ('tenants', 'api_keys')")
  [[ "$tables" == 2 ]] || fail "the tables were not created in schema $PG_SCHEMA (search_path not honoured?)"
  ok "tables live in schema $PG_SCHEMA"
  pg_sql "drop schema $PG_SCHEMA cascade" >/dev/null
  PG_SCHEMA=""
fi

echo
echo "smoke: all checks passed ($([[ "$SQLITE_ONLY" == true ]] && echo sqlite || echo "sqlite and postgres"))"
