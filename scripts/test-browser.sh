#!/usr/bin/env bash
# Browser tests in headless Chromium (tests/browser/, node --test + playwright-core):
#   - the TypeScript client's browser build over gRPC-Web from another origin;
#   - the clinician app launched from a real CDS card (screenshots, keyboard,
#     desktop and tablet widths, accept and override).
#
# Chromium comes from Debian (/usr/bin/chromium; installed with apt-get when
# missing, which needs root); playwright-core never downloads a browser.
# Builds the server, starts `tutti serve` on a free loopback port with the
# EHR integration configured for the test keys in tests/fixtures/ehr/, and
# stops it afterwards.
#
# Usage: scripts/test-browser.sh
#        TUTTI_SCREENSHOT_DIR=$PWD/docs/img scripts/test-browser.sh   (refresh the docs' pictures; an absolute path: the tests run in tests/browser)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/lib/tool-cache.sh
source scripts/lib/tool-cache.sh

step() { printf '\n==> %s\n' "$*"; }

step "chromium (Debian package)"
if [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "chromium is missing and installing it needs root: apt-get install -y chromium" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
dpkg-query -W -f 'chromium ${Version}\n' chromium 2>/dev/null || echo "chromium at /usr/bin/chromium"

step "npm packages (pinned; cached outside the clone per lockfile) and the client's browser build"
tool_node_modules clients/typescript
tool_node_modules tests/browser
(cd clients/typescript && npm run -s build:web)

step "cargo build --bin tutti"
cargo build --locked --bin tutti
TUTTI=${CARGO_TARGET_DIR:-$ROOT/target}/debug/tutti
[[ $TUTTI == /* ]] || TUTTI=$ROOT/$TUTTI

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
cat >"$WORK/tutti.toml" <<TOML
listen = "127.0.0.1:$PORT"
[storage]
path = "$WORK/tutti.db"
[http]
cors_origins = ["*"]
[ehr]
public_url = "$BASE"
launch_key = "browser-test-launch-key-0123456789abcdef"
[[ehr.issuers]]
iss = "https://ehr.test.example"
tenant = "clinic-ehr"
jwks_path = "$ROOT/tests/fixtures/ehr/jwks.json"
[ehr.pseudonym_keys]
clinic-ehr = "browser-test-pseudonym-key-0123456789abcdef"
TOML

step "starting tutti serve on $BASE"
"$TUTTI" serve --config "$WORK/tutti.toml" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 300); do
  if curl -fsS -o /dev/null "$BASE/fhir/r4/Questionnaire/tutti-processes" 2>/dev/null; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null || [[ $i -eq 300 ]]; then
    echo "tutti serve did not come up:" >&2
    tail -n 30 "$WORK/server.log" >&2
    exit 1
  fi
  sleep 0.2
done

step "browser tests (headless Chromium)"
set +e
(cd tests/browser && TUTTI_URL=$BASE node --test --test-concurrency=1 client.test.mjs app.test.mjs)
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  echo "---- server log (last 40 lines) ----" >&2
  tail -n 40 "$WORK/server.log" >&2
fi
exit "$rc"
