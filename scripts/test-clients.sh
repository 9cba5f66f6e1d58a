#!/usr/bin/env bash
# Tests the clients in clients/ the way a platform would use them:
#
#   1. drift check: the committed generated code (Go, Python, TypeScript) must
#      be exactly what proto/ and the pinned generators produce
#      (scripts/gen-clients.sh --check; it reuses the cached generation while
#      proto/ and the pins are unchanged);
#   2. builds the server (`cargo build --bin tutti`, honouring CARGO_TARGET_DIR)
#      and starts two `tutti serve`, each on a free 127.0.0.1 port with a fresh
#      database: one in plaintext without authentication, and one with TLS (a
#      throwaway CA and a certificate for 127.0.0.1/localhost made by openssl
#      for this run) and an API key;
#   3. runs each language's smoke test against them, on the package as a user
#      installs it: Python from the wheel pip builds of clients/python, Go from
#      the module, TypeScript after the package build (and a check of what
#      `npm pack` ships), Java with Maven generating its code from proto/:
#      against the plaintext server, create a person, record an assessment,
#      recommend, send feedback, read insights, and check INVALID_ARGUMENT and
#      tenant isolation; against the TLS server, the helper given the CA and
#      the key makes authenticated calls, without the key gets UNAUTHENTICATED,
#      and trusting another CA cannot connect.
#
# Usage: scripts/test-clients.sh [python] [go] [typescript] [java]   (default: all)
#        SKIP_DRIFT=1 skips step 1.
# Needs only the toolchains (python3, go, node+npm, java 17+maven, rust) and
# openssl (Debian's ca-certificates, which the JDK pulls in, depends on it); it
# installs every package itself, into caches outside the clone
# (scripts/lib/tool-cache.sh; Maven's and Go's own caches).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LC_ALL=C GOFLAGS=${GOFLAGS:--buildvcs=false}
# shellcheck source=scripts/lib/tool-cache.sh
source scripts/lib/tool-cache.sh

LANGS=("$@")
[[ ${#LANGS[@]} -gt 0 ]] || LANGS=(python go typescript java)
for lang in "${LANGS[@]}"; do
  case $lang in python | go | typescript | java) ;; *) echo "unknown language: $lang" >&2; exit 2 ;; esac
done

step() { printf '\n==> %s\n' "$*"; }
now() { date +%s; }
T0=$(now)

# ---- 1. drift ----------------------------------------------------------------
if [[ -z ${SKIP_DRIFT:-} ]]; then
  step "drift check: clients/ must hold what proto/ and the pinned generators produce"
  t=$(now)
  scripts/gen-clients.sh --check
  echo "PASS drift: clients/ matches proto/ ($(($(now) - t))s)"
fi

step "tools (cached outside the clone, keyed by their pins)"
t=$(now)
tool_python_venv clients/python/requirements-dev.txt
VENV=$TOOL_VENV
for lang in "${LANGS[@]}"; do
  if [[ $lang == typescript ]]; then tool_node_modules clients/typescript; fi
done
echo "  ready in $(($(now) - t))s"

# ---- 2. server ---------------------------------------------------------------
step "cargo build --bin tutti"
t=$(now)
cargo build --locked --bin tutti
TUTTI=${CARGO_TARGET_DIR:-$ROOT/target}/debug/tutti
[[ $TUTTI == /* ]] || TUTTI=$ROOT/$TUTTI
[[ -x $TUTTI ]] || { echo "no server binary at $TUTTI" >&2; exit 1; }
echo "  built in $(($(now) - t))s"

if ! command -v openssl >/dev/null; then
  echo "openssl is missing (Debian: apt-get install openssl); it makes the TLS server's throwaway CA" >&2
  exit 1
fi

WORK=$(mktemp -d)
SERVER_PIDS=()
cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The Python package as pip installs it (the wheel built from clients/python,
# with the venv's pinned setuptools), in a folder of this run only: the venv
# is shared by every clone, so nothing of this clone is installed into it.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  --no-build-isolation --target "$WORK/python" ./clients/python
export PYTHONPATH=$WORK/python

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The TLS server's credentials, made for this run and deleted with $WORK: a CA,
# a server certificate it signed for 127.0.0.1 and localhost, an unrelated CA
# (a client trusting only that one must not connect) and an API key, of which
# the server's configuration holds only the SHA-256.
PKI=$WORK/pki
mkdir -p "$PKI"
# openssl chats on stderr; its output is shown only when it fails.
quiet() { local out; out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }; }
make_ca() { # make_ca NAME: $PKI/NAME.pem and $PKI/NAME.key
  quiet openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=tutti clients smoke test $1" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$PKI/$1.key" -out "$PKI/$1.pem"
}
make_ca ca
make_ca other-ca
quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$PKI/server.key" -out "$PKI/server.csr"
printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
  extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost >"$PKI/server.ext"
quiet openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
  -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$PKI/server.ext" -out "$PKI/server.pem"
API_KEY=$(openssl rand -hex 24)
cat >"$WORK/tls.toml" <<EOF
[tls]
cert_path = "$PKI/server.pem"
key_path = "$PKI/server.key"

[[auth.api_keys]]
sha256 = "$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)"
tenant = "clients-smoke-tls"
principal = "clients-smoke"
EOF

# Not TUTTI_*: the server reads every TUTTI_* variable as configuration and
# rejects unknown ones, and it inherits this environment.
PORT=$(free_port)
TLS_PORT=$(free_port)
while [[ $TLS_PORT == "$PORT" ]]; do TLS_PORT=$(free_port); done
export SMOKE_TUTTI_ADDR=127.0.0.1:$PORT SMOKE_TUTTI_TLS_ADDR=127.0.0.1:$TLS_PORT
export SMOKE_TUTTI_TLS_CA=$PKI/ca.pem SMOKE_TUTTI_TLS_OTHER_CA=$PKI/other-ca.pem SMOKE_TUTTI_TLS_TOKEN=$API_KEY

step "starting tutti serve on $SMOKE_TUTTI_ADDR (plaintext, no auth) and $SMOKE_TUTTI_TLS_ADDR (TLS, API key)"
"$TUTTI" serve --listen "$SMOKE_TUTTI_ADDR" --data "$WORK/tutti.db" >"$WORK/server.log" 2>&1 &
SERVER_PIDS+=($!)
"$TUTTI" serve --config "$WORK/tls.toml" --listen "$SMOKE_TUTTI_TLS_ADDR" --data "$WORK/tutti-tls.db" \
  >"$WORK/server-tls.log" 2>&1 &
SERVER_PIDS+=($!)

# The start of a log says why a server failed to start; the end, what it did
# last. Backtrace frames are left out.
server_log() { # server_log FILE
  echo "---- $1 (first 30 and last 30 lines, no backtrace frames) ----" >&2
  grep -v '^    ' "$WORK/$1" | sed -n '1,30p' >&2 || true
  echo "  ..." >&2
  grep -v '^    ' "$WORK/$1" | tail -n 30 >&2 || true
}
server_logs() { server_log server.log; server_log server-tls.log; }

# Ready when both answer ListProcesses (the TLS one over TLS with the key, on
# bare grpc channels, so a broken helper fails its own language's test, not
# this wait). Connections refused are retried for up to 60 s while the
# servers live; any other error fails at once.
if ! "$VENV/bin/python" - "${SERVER_PIDS[@]}" <<'EOF'; then
import os, sys, time
import grpc
from tutti_client.v1 import catalog_pb2, catalog_pb2_grpc

with open(os.environ["SMOKE_TUTTI_TLS_CA"], "rb") as f:
    tls = grpc.ssl_channel_credentials(root_certificates=f.read())
servers = [
    (int(sys.argv[1]), os.environ["SMOKE_TUTTI_ADDR"], None, ()),
    (int(sys.argv[2]), os.environ["SMOKE_TUTTI_TLS_ADDR"], tls,
     (("authorization", "Bearer " + os.environ["SMOKE_TUTTI_TLS_TOKEN"]),)),
]
start = time.monotonic()
for pid, addr, creds, metadata in servers:
    channel = grpc.insecure_channel(addr) if creds is None else grpc.secure_channel(addr, creds)
    with channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        while True:
            try:
                os.kill(pid, 0)
            except OSError:
                sys.exit(f"tutti serve on {addr} exited before it answered")
            try:
                catalog.ListProcesses(catalog_pb2.ListProcessesRequest(), timeout=1, metadata=metadata)
                print(f"  {addr} ready after {time.monotonic() - start:.1f}s")
                break
            except grpc.RpcError as err:
                retry = err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                if not retry or time.monotonic() > start + 60:
                    sys.exit(f"tutti serve on {addr} did not answer ListProcesses: {err.code()} {err.details()}")
                time.sleep(0.2)
EOF
  server_logs
  exit 1
fi

# ---- 3. clients --------------------------------------------------------------
declare -a RESULTS=()
PASSED=0
FAILED=0
run_lang() {
  local lang=$1 t rc
  step "$lang client"
  t=$(now)
  set +e
  "test_$lang"
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    RESULTS+=("PASS $lang client ($(($(now) - t))s)")
    PASSED=$((PASSED + 1))
  else
    RESULTS+=("FAIL $lang client (exit $rc, $(($(now) - t))s)")
    FAILED=$((FAILED + 1))
  fi
  echo "${RESULTS[-1]}"
}

test_python() (
  set -e
  cd clients/python
  "$VENV/bin/python" -m pytest -q -rs -p no:cacheprovider tests
)

test_go() (
  set -e
  cd clients/go
  go mod download
  go vet ./...
  go test -count=1 -p 2 ./...
)

test_typescript() (
  set -e
  cd clients/typescript
  rm -rf dist
  # What `npm install`/`npm pack` build (prepare.mjs), minus installing tools.
  npm run -s build
  npm run -s build:web
  # The package ships the built code, and its exports resolve.
  npm pack --dry-run --json --ignore-scripts 2>/dev/null | node -e '
    const files = new Set(JSON.parse(require("fs").readFileSync(0, "utf8"))[0].files.map((f) => f.path));
    const want = ["dist/src/index.js", "dist/src/index.d.ts", "dist/src/gen/tutti/v1/catalog_pb.js", "dist/web/tutti-web.js"];
    const missing = want.filter((f) => !files.has(f));
    if (missing.length) { console.error("npm pack leaves out:", missing.join(", ")); process.exit(1); }'
  node --input-type=module -e '
    const m = await import("@tutti-health/tutti-client");
    await import("@tutti-health/tutti-client/gen/tutti/v1/people_pb");
    if (typeof m.createTuttiClients !== "function") throw new Error("createTuttiClients is not exported");'
  node --test dist/test/smoke.test.js
)

test_java() (
  set -e
  cd clients/java
  # -q keeps Maven to test output and errors; the sed drops the colour resets
  # that Debian's Maven prints even in batch mode.
  if mvn -q -B -Dstyle.color=never test 2>&1 | sed 's/\x1b\[[0-9;]*m//g'; then rc=0; else rc=$?; fi
  cat target/surefire-reports/*.txt 2>/dev/null | grep -E '^Tests run:' || true
  exit "$rc"
)

for lang in "${LANGS[@]}"; do run_lang "$lang"; done

if [[ $FAILED -gt 0 ]]; then server_logs; fi

step "summary ($(($(now) - T0))s in all)"
printf '%s\n' "${RESULTS[@]}"
echo "clients: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
