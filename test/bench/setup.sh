#!/usr/bin/env bash
# Installs what the benchmarks need, only when missing (safe to run again):
#   wrk                       HTTP load generator (Accept, Scale)
#   postfix                   only for its test tools smtp-sink and smtp-source (Dispatch, E2E)
#   hyperfine                 timing whole commands (handy for start-up checks by hand)
# Postfix's own mail daemon is not wanted: the package is preseeded as "No configuration",
# and if it was started anyway it is stopped, so port 25 stays free.
set -euo pipefail

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
{ [ -x /usr/sbin/smtp-sink ] && [ -x /usr/sbin/smtp-source ]; } || need+=(postfix)

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "test/bench/setup.sh: installing ${need[*]}"
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Stop Postfix's daemon if the package (or anything else) started it: we only use the binaries.
if command -v postfix >/dev/null 2>&1 && postfix status >/dev/null 2>&1; then
  echo "test/bench/setup.sh: stopping the postfix daemon (only smtp-sink/smtp-source are used)"
  postfix stop >/dev/null 2>&1 || true
fi

for tool in wrk hyperfine /usr/sbin/smtp-sink /usr/sbin/smtp-source; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test/bench/setup.sh: $tool still missing" >&2; exit 1; }
done
echo "test/bench/setup.sh: wrk, hyperfine, smtp-sink and smtp-source are installed"
