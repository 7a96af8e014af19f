// Idempotency-Key: the first answer for a key is stored in the same transaction as what it
// created, so a retry (after a timeout, a restart, or on another instance) gets that answer
// back and creates nothing; the same key with a different body is a 409.
import { createHash } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { Database } from "../db";
import { PosthornError, validationFailed } from "../errors";

export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

export interface StoredResponse {
  status: number;
  body: unknown;
}

export function checkIdempotencyKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || /\p{Cc}/u.test(key)) {
    throw validationFailed("Idempotency-Key", `must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} printable characters`);
  }
  return key;
}

export function requestHash(body: unknown): string {
  return createHash("sha256").update(JSON.stringify(body)).digest("hex");
}

type PriorRow = Pick<
  Selectable<Database["idempotency_keys"]>,
  "request_hash" | "response_status" | "response_body" | "expires_at"
>;

/** The stored answer for this key, or undefined when the key is new (or expired). */
export async function findIdempotentResponse(
  trx: Kysely<Database>,
  tenantId: string,
  key: string,
  hash: string,
  now: number,
): Promise<StoredResponse | undefined> {
  const prior = await trx
    .selectFrom("idempotency_keys")
    .select(["request_hash", "response_status", "response_body", "expires_at"])
    .where("tenant_id", "=", tenantId)
    .where("key", "=", key)
    .executeTakeFirst();
  if (!prior) return undefined;
  const answer = priorAnswer(prior, hash, now);
  if (answer === "expired") {
    await trx.deleteFrom("idempotency_keys").where("tenant_id", "=", tenantId).where("key", "=", key).execute();
    return undefined;
  }
  return answer;
}

/**
 * The stored rows for many keys at once (a gathered flush), by `${tenantId} ${key}`; judge
 * each with priorAnswer.
 */
export async function findIdempotencyRows(
  trx: Kysely<Database>,
  keys: readonly { tenantId: string; key: string }[],
): Promise<Map<string, PriorRow>> {
  const rows = await trx
    .selectFrom("idempotency_keys")
    .select(["tenant_id", "key", "request_hash", "response_status", "response_body", "expires_at"])
    .where((eb) => eb.or(keys.map((k) => eb.and([eb("tenant_id", "=", k.tenantId), eb("key", "=", k.key)]))))
    .execute();
  return new Map(rows.map((r) => [`${r.tenant_id} ${r.key}`, r]));
}

/** A stored row's answer for a request with `hash`: its response, "expired", or a 409 thrown. */
export function priorAnswer(prior: PriorRow, hash: string, now: number): StoredResponse | "expired" {
  if (prior.expires_at <= now) return "expired";
  if (prior.request_hash !== hash) {
    throw new PosthornError(
      "idempotency_conflict",
      "This Idempotency-Key was already used with a different request body; use a new key for a new request.",
    );
  }
  return { status: prior.response_status, body: JSON.parse(prior.response_body) };
}

export interface IdempotencyRecord {
  tenantId: string;
  key: string;
  hash: string;
  response: StoredResponse;
  now: number;
  ttlMs: number;
}

export function storeIdempotentResponse(trx: Kysely<Database>, row: IdempotencyRecord): Promise<void> {
  return storeIdempotentResponses(trx, [row]);
}

/** Several records in one statement, in key order (concurrent flushes insert keys in one order). */
export async function storeIdempotentResponses(trx: Kysely<Database>, records: readonly IdempotencyRecord[]) {
  if (records.length === 0) return;
  const sorted = [...records].sort((a, b) => {
    const x = `${a.tenantId} ${a.key}`;
    const y = `${b.tenantId} ${b.key}`;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  await trx
    .insertInto("idempotency_keys")
    .values(
      sorted.map((row) => ({
        tenant_id: row.tenantId,
        key: row.key,
        request_hash: row.hash,
        response_status: row.response.status,
        response_body: JSON.stringify(row.response.body),
        created_at: row.now,
        expires_at: row.now + row.ttlMs,
      })),
    )
    .execute();
}
