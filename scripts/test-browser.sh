#!/usr/bin/env bash
# Browser tests in headless Chromium (tests/browser/, node --test + playwright-core):
#   - the TypeScript client's browser build over gRPC-Web from another origin;
#   - the clinician app launched from a real CDS card (screenshots, keyboard,
#     desktop and tablet widths, accept and override);
#   - the app's SMART App Launch inside a cross-site EHR frame with
#     third-party cookies blocked (smart-frame.test.mjs).
#
# Chromium comes from Debian (/usr/bin/chromium; installed with apt-get when
# missing, which needs root); playwright-core never downloads a browser.
# Builds the server and starts two `tutti serve` on free loopback ports, with
# the EHR integration configured for the test keys in tests/fixtures/ehr/: one
# in plain http for the first two, and one over https (a throwaway CA and
# certificates made by openssl for this run) whose EHR launches the app
# through SMART from the pretend EHR smart-frame.test.mjs starts on
# https://localhost (another site than https://127.0.0.1). Stops them
# afterwards.
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

if ! command -v openssl >/dev/null; then
  echo "openssl is missing (Debian: apt-get install openssl); it makes the https server's throwaway CA" >&2
  exit 1
fi

WORK=$(mktemp -d)
SERVER_PIDS=()
cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
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

# The SMART server: https on 127.0.0.1, its EHR (the pretend one the test
# starts, on a port chosen here because the configuration names it) on
# https://localhost, a different site, so the app's frame is cross-site.
PKI=$WORK/pki
mkdir -p "$PKI"
# openssl chats on stderr; its output is shown only when it fails.
quiet() { local out; out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }; }
quiet openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=tutti browser test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$PKI/ca.key" -out "$PKI/ca.pem"
leaf() { # leaf NAME SAN: $PKI/NAME.pem and $PKI/NAME.key, signed by the CA
  quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$PKI/$1.key" -out "$PKI/$1.csr"
  printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
    extendedKeyUsage=serverAuth "subjectAltName=$2" >"$PKI/$1.ext"
  quiet openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$PKI/$1.ext" -out "$PKI/$1.pem"
}
leaf tutti IP:127.0.0.1
# 127.0.0.1 too: the test's canary frame is the EHR's own server seen as another site.
leaf ehr DNS:localhost,IP:127.0.0.1
SMART_PORT=$(free_port)
SMART_EHR_PORT=$(free_port)
SMART_BASE=https://127.0.0.1:$SMART_PORT
cat >"$WORK/tutti-smart.toml" <<TOML
listen = "127.0.0.1:$SMART_PORT"
[storage]
path = "$WORK/tutti-smart.db"
[tls]
cert_path = "$PKI/tutti.pem"
key_path = "$PKI/tutti.key"
[ehr]
public_url = "$SMART_BASE"
launch_key = "browser-test-launch-key-0123456789abcdef"
# The pretend EHR's token endpoint and keys are https under the test CA.
tls_ca_path = "$PKI/ca.pem"
[[ehr.issuers]]
iss = "https://ehr.test.example"
tenant = "clinic-ehr"
jwks_path = "$ROOT/tests/fixtures/ehr/jwks.json"
[ehr.issuers.smart]
fhir_base_urls = ["https://localhost:$SMART_EHR_PORT/fhir"]
client_id = "tutti-frame-client"
[ehr.pseudonym_keys]
clinic-ehr = "browser-test-pseudonym-key-0123456789abcdef"
TOML

# start_server NAME: `tutti serve --config $WORK/NAME.toml`, logging to $WORK/NAME.log.
start_server() {
  "$TUTTI" serve --config "$WORK/$1.toml" >"$WORK/$1.log" 2>&1 &
  SERVER_PIDS+=($!)
}
# wait_server NAME URL N: until the Nth server started answers at URL.
wait_server() {
  local pid=${SERVER_PIDS[$3]} i
  for i in $(seq 1 300); do
    if curl -fsS --cacert "$PKI/ca.pem" -o /dev/null "$2/fhir/r4/Questionnaire/tutti-processes" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null || [[ $i -eq 300 ]]; then
      echo "tutti serve ($1) did not come up:" >&2
      tail -n 30 "$WORK/$1.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}
step "starting tutti serve on $BASE and on $SMART_BASE (SMART, https)"
start_server tutti
start_server tutti-smart
wait_server tutti "$BASE" 0
wait_server tutti-smart "$SMART_BASE" 1

step "browser tests (headless Chromium)"
set +e
(cd tests/browser && TUTTI_URL=$BASE TUTTI_SMART_URL=$SMART_BASE SMART_EHR_PORT=$SMART_EHR_PORT \
  SMART_PKI=$PKI NODE_EXTRA_CA_CERTS=$PKI/ca.pem \
  node --test --test-concurrency=1 client.test.mjs app.test.mjs smart-frame.test.mjs)
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  for name in tutti tutti-smart; do
    echo "---- $name server log (last 40 lines) ----" >&2
    tail -n 40 "$WORK/$name.log" >&2
  done
fi
exit "$rc"
