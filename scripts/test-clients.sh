#!/usr/bin/env bash
# Tests the clients in clients/ the way a platform would use them:
#
#   1. drift check: the committed generated code (Go, Python, TypeScript) must
#      be exactly what proto/ and the pinned generators produce
#      (scripts/gen-clients.sh --check; it reuses the cached generation while
#      proto/ and the pins are unchanged);
#   2. builds the server (`cargo build --bin tutti`, honouring CARGO_TARGET_DIR)
#      and starts `tutti serve` on a free 127.0.0.1 port with a fresh database;
#   3. runs each language's smoke test against it, on the package as a user
#      installs it: Python from the wheel pip builds of clients/python, Go from
#      the module, TypeScript after the package build (and a check of what
#      `npm pack` ships), Java with Maven generating its code from proto/:
#      create a person, record an assessment, recommend, send feedback, read
#      insights, and check INVALID_ARGUMENT and tenant isolation.
#
# Usage: scripts/test-clients.sh [python] [go] [typescript] [java]   (default: all)
#        SKIP_DRIFT=1 skips step 1.
# Needs only the toolchains (python3, go, node+npm, java 17+maven, rust); it
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

# The Python package as pip installs it (the wheel built from clients/python,
# with the venv's pinned setuptools), in a folder of this run only: the venv
# is shared by every clone, so nothing of this clone is installed into it.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  --no-build-isolation --target "$WORK/python" ./clients/python
export PYTHONPATH=$WORK/python

PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Not TUTTI_ADDR: the server reads every TUTTI_* variable as configuration and
# rejects unknown ones, and it inherits this environment.
export SMOKE_TUTTI_ADDR=127.0.0.1:$PORT
step "starting tutti serve on $SMOKE_TUTTI_ADDR"
"$TUTTI" serve --listen "$SMOKE_TUTTI_ADDR" --data "$WORK/tutti.db" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# The start of the log says why a server failed to start; the end, what it
# did last. Backtrace frames are left out.
server_log() {
  echo "---- server log (first 30 and last 30 lines, no backtrace frames) ----" >&2
  grep -v '^    ' "$WORK/server.log" | sed -n '1,30p' >&2 || true
  echo "  ..." >&2
  grep -v '^    ' "$WORK/server.log" | tail -n 30 >&2 || true
}

# Ready when ListProcesses answers; gives up after 60 s or if the server exits.
if ! "$VENV/bin/python" - "$SERVER_PID" <<'EOF'; then
import os, sys, time
import grpc
import tutti_client
from tutti_client.v1 import catalog_pb2

pid, addr, deadline = int(sys.argv[1]), os.environ["SMOKE_TUTTI_ADDR"], time.monotonic() + 60
with tutti_client.connect(addr) as tutti:
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit("tutti serve exited before it answered")
        try:
            tutti.catalog.ListProcesses(catalog_pb2.ListProcessesRequest(), timeout=1)
            print(f"  server ready after {60 - (deadline - time.monotonic()):.1f}s")
            break
        except grpc.RpcError as err:
            if time.monotonic() > deadline:
                sys.exit(f"tutti serve did not answer ListProcesses within 60s: {err.code()} {err.details()}")
            time.sleep(0.2)
EOF
  server_log
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

if [[ $FAILED -gt 0 ]]; then server_log; fi

step "summary ($(($(now) - T0))s in all)"
printf '%s\n' "${RESULTS[@]}"
echo "clients: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
