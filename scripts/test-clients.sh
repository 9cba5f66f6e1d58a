#!/usr/bin/env bash
# Tests the generated clients in clients/ the way a platform would use them:
#
#   1. drift check: scripts/gen-clients.sh must leave clients/ exactly as it
#      was (generated code is committed and must match proto/ and the pins);
#   2. builds the server (`cargo build --bin tutti`, honouring CARGO_TARGET_DIR)
#      and starts `tutti serve` on a free 127.0.0.1 port with a fresh database;
#   3. runs each language's smoke test against it (pytest, go test, node --test,
#      mvn test): create a person, record an assessment, recommend, send
#      feedback, read insights, and check INVALID_ARGUMENT and tenant isolation.
#
# Usage: scripts/test-clients.sh [python] [go] [typescript] [java]   (default: all)
#        SKIP_DRIFT=1 skips step 1.
# Needs only the toolchains (python3, go, node+npm, java 17+maven, rust); it
# installs every package itself (see scripts/gen-clients.sh for the pins).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LC_ALL=C GOFLAGS=${GOFLAGS:--buildvcs=false}

LANGS=("$@")
[[ ${#LANGS[@]} -gt 0 ]] || LANGS=(python go typescript java)
for lang in "${LANGS[@]}"; do
  case $lang in python | go | typescript | java) ;; *) echo "unknown language: $lang" >&2; exit 2 ;; esac
done

step() { printf '\n==> %s\n' "$*"; }
now() { date +%s; }
T0=$(now)

# Hashes the tracked-or-untracked, non-ignored content of clients/ into a git
# tree, using a throwaway index so the real index is untouched. Comparing two
# such trees works whether or not clients/ is committed yet.
snapshot_clients() {
  local index
  index=$(mktemp)
  rm -f "$index"
  GIT_INDEX_FILE=$index git add -A -- clients/
  GIT_INDEX_FILE=$index git write-tree
  rm -f "$index"
}

# ---- 1. drift ----------------------------------------------------------------
if [[ -z ${SKIP_DRIFT:-} ]]; then
  step "drift check: scripts/gen-clients.sh must leave clients/ unchanged"
  t=$(now)
  clean_before=$(git status --porcelain -- clients/)
  before=$(snapshot_clients)
  scripts/gen-clients.sh
  after=$(snapshot_clients)
  if [[ $before != "$after" ]]; then
    echo "generated client code differs from what scripts/gen-clients.sh produces now:" >&2
    git diff --stat "$before" "$after" -- >&2
    echo "run scripts/gen-clients.sh and commit the result" >&2
    exit 1
  fi
  if [[ -z $clean_before && -n $(git status --porcelain -- clients/) ]]; then
    git status --porcelain -- clients/ >&2
    echo "scripts/gen-clients.sh changed committed files in clients/ (above)" >&2
    exit 1
  fi
  [[ -z $clean_before ]] || echo "  (clients/ has uncommitted changes; compared with the working tree as it was)"
  echo "PASS drift: clients/ matches proto/ ($(($(now) - t))s)"
else
  # The tests below still need the packages gen-clients.sh installs.
  scripts/gen-clients.sh --setup-only
fi

# ---- 2. server ---------------------------------------------------------------
step "cargo build --bin tutti"
t=$(now)
cargo build --locked --bin tutti
TUTTI=${CARGO_TARGET_DIR:-$ROOT/target}/debug/tutti
[[ $TUTTI == /* ]] || TUTTI=$ROOT/$TUTTI
[[ -x $TUTTI ]] || { echo "no server binary at $TUTTI" >&2; exit 1; }
echo "  built in $(($(now) - t))s"

VENV=$ROOT/clients/python/.venv
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e clients/python

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
  npx --no-install tsc -p tsconfig.json
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
