#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine: runs its own build steps, read from the file,
# in a clean temporary folder, then assembles the runtime stage's /app from what it copies
# --from=build and runs the image's ENTRYPOINT there (--help, then a small simulate + run of
# the enriched stage into a lake, so the native SQLite module and the WASM kernels are proven).
#
# What it cannot check: the base image itself (node:20-bookworm-slim is assumed to be this
# machine's Node 20 on Debian) and `apt-get install` (skipped; the tools it installs must exist
# here). Usage: bash scripts/check-dockerfile.sh [Dockerfile]   (KEEP=1 keeps the folder)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dockerfile=${1:-$repo/Dockerfile}
work=$(mktemp -d "${TMPDIR:-/tmp}/edgelake-dockerfile-XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi
build="$work/build-stage"
runtime="$work/runtime-stage"
mkdir -p "$build" "$runtime"
started=$(date +%s)
say() { printf 'check-dockerfile: %s\n' "$*"; }
fail() { say "FAILED: $*"; exit 1; }

# The Dockerfile as logical instructions: comments dropped, `\` continuations joined.
instructions() {
  sed -e 's/\r$//' "$dockerfile" | awk '
    /^[[:space:]]*#/ && cont == "" { next }
    { line = $0
      if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, "", line); cont = cont line " "; next }
      print cont line; cont = "" }'
}

stage=0
workdir_seen=""
entrypoint=""
while IFS= read -r line; do
  [ -z "${line//[[:space:]]/}" ] && continue
  op=${line%%[[:space:]]*}
  args=$(printf '%s' "${line#"$op"}" | sed -e 's/^[[:space:]]*//')
  case "$op" in
    FROM)
      stage=$((stage + 1))
      [ "$stage" -le 2 ] || fail "more than two stages: this check models a build stage and a runtime stage"
      case "$args" in node:20*) ;; *) fail "base image $args: this check runs the steps on Node 20 ($(node --version))" ;; esac
      ;;
    WORKDIR) workdir_seen="$args" ;;
    ENV) ;;
    COPY)
      if [ "$stage" = 1 ]; then
        set -- $args
        dest=${!#}
        [ "$dest" = ./ ] || [ "$dest" = . ] || dest_dir="$build/${dest#./}"
        while [ $# -gt 1 ]; do
          src=$1; shift
          [ -e "$repo/$src" ] || fail "COPY $src: no such file in the repository"
          if [ "$dest" = ./ ] || [ "$dest" = . ]; then cp -R "$repo/$src" "$build/"; else mkdir -p "$(dirname "$dest_dir")"; cp -R "$repo/$src" "$dest_dir"; fi
        done
      else
        set -- $args
        case "$1" in --from=build) shift ;; *) fail "runtime stage COPY without --from=build: $args" ;; esac
        src=${1#"$workdir_seen"/}; dest=${2#./}
        [ -e "$build/$src" ] || fail "COPY --from=build $1: the build stage did not produce it"
        cp -R "$build/$src" "$runtime/$dest"
      fi
      ;;
    RUN)
      if [ "$stage" != 1 ]; then
        # The runtime stage may only install Debian's shared libraries: that the one edgelake links is here is checked instead.
        printf '%s' "$args" | grep -q 'apt-get install' || fail "RUN in the runtime stage other than apt-get install is not modelled: $args"
        printf '%s' "$args" | grep -q 'libisal2' && { ls /usr/lib/*/libisal.so.2 >/dev/null 2>&1 || fail "libisal.so.2 is missing here (the runtime stage installs libisal2)"; }
        say "skipped the runtime stage's apt-get (its libraries are present here)"
        continue
      fi
      if printf '%s' "$args" | grep -q 'apt-get'; then
        for tool in python3 make g++; do command -v "$tool" >/dev/null || fail "$tool is missing here (the Dockerfile apt-get installs it)"; done
        if printf '%s' "$args" | grep -q 'libisal-dev'; then [ -f /usr/include/isa-l/igzip_lib.h ] || fail "ISA-L's headers are missing here (the Dockerfile installs libisal-dev)"; fi
        say "skipped apt-get (python3, make, g++ and what it installs present)"
        continue
      fi
      say "RUN $args"
      t0=$(date +%s)
      (cd "$build" && bash -euo pipefail -c "$args") > "$work/run.log" 2>&1 || { tail -40 "$work/run.log"; fail "RUN $args"; }
      say "  ok in $(( $(date +%s) - t0 )) s"
      ;;
    ENTRYPOINT) entrypoint="$args" ;;
    *) fail "instruction $op is not modelled by this check" ;;
  esac
done < <(instructions)

[ -n "$entrypoint" ] || fail "no ENTRYPOINT"
# ["node", "--flag", …, "/app/build/cli/main.js"] → node --flag … <runtime>/build/cli/main.js
main=$(printf '%s' "$entrypoint" | node -e 'const a = JSON.parse(require("fs").readFileSync(0, "utf8")); if (a[0] !== "node" || a.length < 2 || !a.slice(1, -1).every((f) => f.startsWith("--"))) process.exit(1); console.log(a.at(-1))') \
  || fail "ENTRYPOINT $entrypoint is not [\"node\", <--options>…, \"<script>\"]"
read -r -a node_flags < <(printf '%s' "$entrypoint" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).slice(1, -1).join(" "))')
script="$runtime/${main#"$workdir_seen"/}"
[ -f "$script" ] || fail "ENTRYPOINT script $main is not in the runtime stage"
[ ! -e "$runtime/node_modules/typescript" ] || fail "devDependencies left in the runtime image (npm prune --omit=dev did not run?)"

cd "$work"
NODE_ENV=production node "${node_flags[@]}" "$script" --help > "$work/help.txt" || fail "edgelake --help from the runtime stage"
grep -q 'edgelake' "$work/help.txt" || fail "--help printed no usage"
NODE_ENV=production node "${node_flags[@]}" "$script" simulate --db "$work/s.db" --rows 2000 --seed 1 > /dev/null 2>&1 || fail "edgelake simulate from the runtime stage"
# EDGELAKE_GZIP=igzip: the image's gzip must be igzip's (an addon that does not load is an error, not zlib).
NODE_ENV=production EDGELAKE_GZIP=igzip node "${node_flags[@]}" "$script" run --once --type enriched --db "$work/s.db" --lake "$work/lake" --node-id docker-check --no-progress > "$work/run.txt" 2>&1 \
  || { cat "$work/run.txt"; fail "edgelake run --once --type enriched from the runtime stage"; }
objects=$(find "$work/lake" -name '*.jsonl.gz' | wc -l)
[ "$objects" -gt 0 ] || fail "the runtime stage's run wrote no objects"
say "runtime stage: --help, simulate and run --once (enriched, WASM kernels, native SQLite, igzip) ok, $objects objects"
say "passed in $(( $(date +%s) - started )) s"
