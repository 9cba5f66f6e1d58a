# shellcheck shell=bash
# Tool caches outside the clone, shared by scripts/test.sh, gen-clients.sh,
# test-clients.sh and test-browser.sh (source it: it sets TUTTI_CACHE and
# defines functions; it runs nothing else).
#
# Every entry lives under ${TUTTI_CACHE:-$HOME/.cache/tutti}/<kind>/<key>,
# where <key> hashes the files that decide its content (a lockfile, a
# requirements file, proto/ plus the generator pins), so a changed pin makes a
# new entry and an unchanged one is reused by every clone and worktree on the
# machine. An entry is built under a lock and marked complete only at the end,
# so an interrupted build is redone and two runs never build the same entry at
# once. The newest few entries of each kind are kept; older ones are pruned.
#
# Maven (~/.m2) and Go (GOMODCACHE, GOCACHE) already keep their caches outside
# the clone, keyed by artifact version; they are left where their tools put
# them.

TUTTI_CACHE=${TUTTI_CACHE:-$HOME/.cache/tutti}
# Absolute, so entries are named the same from any working directory.
mkdir -p "$TUTTI_CACHE" && TUTTI_CACHE=$(cd "$TUTTI_CACHE" && pwd)

# How many entries of each kind to keep (the newest by last use).
TOOL_CACHE_KEEP=${TOOL_CACHE_KEEP:-4}

tool_cache_log() { [[ -n ${GEN_CLIENTS_QUIET:-} ]] || printf '  cache: %s\n' "$*" >&2; }

# Prints a short hash of the given strings and files (their names as given,
# so pass paths relative to a fixed place, and their bytes).
tool_cache_key() {
  local arg
  for arg in "$@"; do
    printf '%s\0' "$arg"
    if [[ -f $arg ]]; then cat -- "$arg"; fi
    printf '\0'
  done | sha256sum | cut -c1-16
}

# tool_cache_entry KIND KEY BUILD_FUNCTION [MUST_EXIST]: makes sure
# $TUTTI_CACHE/KIND/KEY exists, calling BUILD_FUNCTION DIR to fill it when it
# does not (or when the path MUST_EXIST inside it has gone), and sets
# TOOL_CACHE_DIR to it. BUILD_FUNCTION must return non-zero on failure by
# itself (chain its commands with &&): `set -e` does not hold inside it here.
tool_cache_entry() {
  local kind=$1 key=$2 build=$3 must=${4:-.tutti-complete} dir
  dir=$TUTTI_CACHE/$kind/$key
  TOOL_CACHE_DIR=$dir
  if [[ -f $dir/.tutti-complete && -e $dir/$must ]]; then
    touch "$dir/.tutti-complete"
    return 0
  fi
  mkdir -p "$TUTTI_CACHE/$kind"
  (
    if command -v flock >/dev/null; then flock 9; fi
    [[ ! -f $dir/.tutti-complete || ! -e $dir/$must ]] || exit 0
    rm -rf "$dir" && mkdir -p "$dir" && "$build" "$dir" && touch "$dir/.tutti-complete"
  ) 9>"$dir.lock" || true
  if [[ ! -f $dir/.tutti-complete ]]; then
    rm -rf "$dir"
    printf 'could not build the cache entry %s\n' "$dir" >&2
    return 1
  fi
  tool_cache_prune "$kind"
}

# Removes all but the newest $TOOL_CACHE_KEEP complete entries of KIND, and
# their locks. Entries in use are the recently touched ones, so they stay.
tool_cache_prune() {
  local kind=$1 old
  # shellcheck disable=SC2012 # names are our own hex keys
  ls -1t "$TUTTI_CACHE/$kind"/*/.tutti-complete 2>/dev/null | tail -n +$((TOOL_CACHE_KEEP + 1)) |
    while read -r old; do
      old=$(dirname "$old")
      tool_cache_log "pruning $kind/$(basename "$old")"
      rm -rf "$old" "$old.lock"
    done
}

# tool_node_modules DIR: fills DIR/node_modules from a cached `npm ci` of
# DIR/package-lock.json, so `npm ci` runs once per distinct lockfile (and Node
# major version) on the machine, not once per run or clone. The folder is a
# hard-linked copy (instant, no extra space; a plain copy across file
# systems), not a symlink: a manual `npm ci` in DIR then replaces the clone's
# copy and cannot empty the cached one. A stamp names the entry it came from.
tool_node_modules() {
  local dir=$1 key stamp
  dir=$(cd "$dir" && pwd)
  key=$(cd "$dir" && tool_cache_key "$(node --version | cut -d. -f1)" package-lock.json)
  TOOL_NPM_SOURCE=$dir
  tool_cache_entry "node/$(basename "$dir")" "$key" _tool_npm_ci node_modules/.package-lock.json || return 1
  stamp=$dir/node_modules/.tutti-cache-entry
  if [[ ! -L $dir/node_modules && -f $stamp && $(cat "$stamp") == "$TOOL_CACHE_DIR" ]]; then return 0; fi
  rm -rf "$dir/node_modules"
  cp -al "$TOOL_CACHE_DIR/node_modules" "$dir/node_modules" 2>/dev/null ||
    { rm -rf "$dir/node_modules" && cp -a "$TOOL_CACHE_DIR/node_modules" "$dir/node_modules"; } || return 1
  echo "$TOOL_CACHE_DIR" >"$stamp"
}

# The lockfile and the package.json it belongs to, without the package's own
# scripts (its `prepare` builds the package, which needs its sources).
_tool_npm_ci() {
  local out=$1
  tool_cache_log "npm ci for ${TOOL_NPM_SOURCE#"$PWD"/} into $out"
  cp "$TOOL_NPM_SOURCE/package-lock.json" "$out/" &&
  node -e '
    const fs = require("fs");
    const p = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    delete p.scripts;
    fs.writeFileSync(process.argv[2], JSON.stringify(p, null, 2) + "\n");
  ' "$TOOL_NPM_SOURCE/package.json" "$out/package.json" &&
  (cd "$out" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

# tool_python_venv REQUIREMENTS: sets TOOL_VENV to a cached virtualenv with
# exactly REQUIREMENTS installed, keyed by that file and the interpreter.
tool_python_venv() {
  local req=$1 key python
  python=$(python3 -c 'import sys; print(sys.version, sys.executable)')
  key=$(cd "$(dirname "$req")" && tool_cache_key "$python" "$(basename "$req")")
  TOOL_PYTHON_REQ=$req
  tool_cache_entry python-venv "$key" _tool_make_venv bin/python || return 1
  # shellcheck disable=SC2034 # read by the scripts that source this
  TOOL_VENV=$TOOL_CACHE_DIR
}

_tool_make_venv() {
  local out=$1
  tool_cache_log "python venv from ${TOOL_PYTHON_REQ#"$PWD"/} into $out"
  python3 -m venv "$out" &&
  "$out/bin/python" -m pip install --quiet --disable-pip-version-check -r "$TOOL_PYTHON_REQ"
}
