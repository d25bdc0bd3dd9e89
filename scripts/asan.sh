#!/usr/bin/env bash
# Sanitizer / memory-checker run of the SocketCAN binding (npm run test:asan).
#
#   bash scripts/asan.sh            build, then run everything below; non-zero on any report
#
# What runs where, and why:
#  * AddressSanitizer+UBSan build (.asan/asan): node is not instrumented, so libasan is
#    LD_PRELOADed and leak detection is off (node itself "leaks" at exit by design).
#    ASan needs its fixed shadow mapping at 0x7fff8000..; a User-Mode-Linux guest's
#    small address space cannot hold it ("Shadow memory range interleaves with an
#    existing memory mapping"), so where vcan only exists in the UML guest, ASan runs
#    only the suites that work without CAN (binding-nocan, receive-low-water) on this host.
#  * UBSan-only build (.asan/ubsan, -fno-sanitize-recover: any report aborts): every
#    binding-*.test.js, on vcan (here, or in the guest).
#  * valgrind memcheck (--error-exitcode) of the optimised build with debug info
#    (.asan/valgrind): every binding-*.test.js on vcan, bursts reduced to
#    UVSCPD_TEST_BURST_FRAMES (default 20000) because node under valgrind is ~30x slower.
# Where the kernel has vcan (a normal Linux, as root), ASan also runs every suite here.
#
# Environment: CANVM (path of can-vm.sh), ASAN_SKIP_VALGRIND=1, ASAN_SKIP_BUILD=1.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
burst=${UVSCPD_TEST_BURST_FRAMES:-20000}
fail=0
note() { printf '\n[asan] %s\n' "$*"; }

# The SocketCAN suites of the binding and of the server under churn and bus faults.
can_suites() { ls dist/test/socketcan/binding-*.test.js dist/test/socketcan/server-churn.test.js dist/test/socketcan/server-bus-faults.test.js 2>/dev/null | sort; }

asan_env() {
  LD_PRELOAD=$(gcc -print-file-name=libasan.so) \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  UVSCPD_ADDON="$root/.asan/asan/Release/uvscpd.node" "$@"
}

# Runs one test file; fails on a non-zero exit or any sanitizer text in its output.
run_checked() {
  local label=$1; shift
  local log
  log=$(mktemp)
  "$@" >"$log" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] || grep -qE 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|== *(Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination)' "$log"; then
    note "FAIL ($label, exit $rc):"
    grep -vE '^\s+(---|\.\.\.|duration_ms|type:)' "$log" | tail -60
    fail=1
  else
    note "ok   ($label): $(grep -E '^# (pass|fail)' "$log" | tr '\n' ' ')"
  fi
  rm -f "$log"
}

# --- inside a CAN-capable kernel (here or in the guest) ------------------------------
in_can() {
  local asan_ok=$1
  for t in $(can_suites); do
    run_checked "ubsan $(basename "$t")" env UVSCPD_ADDON="$root/.asan/ubsan/Release/uvscpd.node" \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 node --test --test-concurrency=1 "$t"
  done
  if [ "$asan_ok" = 1 ]; then
    for t in $(can_suites); do run_checked "asan $(basename "$t")" asan_env node --test --test-concurrency=1 "$t"; done
  fi
  if [ "${ASAN_SKIP_VALGRIND:-0}" != 1 ]; then
    # V8's conservative stack scan during a forced GC reads uninitialised stack
    # slots by design; that is V8's, not the addon's. A file, since the guest has
    # no /dev/fd for <(...).
    local supp; supp=$(mktemp)
    printf '{\n   v8-cppgc-conservative-stack-scan\n   Memcheck:Cond\n   fun:*IteratePointersInStack*\n}\n' >"$supp"
    for t in $(can_suites); do
      # The test file itself runs under valgrind (node --test would fork an untraced child).
      run_checked "valgrind $(basename "$t")" env UVSCPD_ADDON="$root/.asan/valgrind/Release/uvscpd.node" \
        UVSCPD_TEST_BURST_FRAMES="$burst" UVSCPD_TEST_SLOW=1 \
        valgrind --error-exitcode=99 --leak-check=no --show-error-list=yes -q --suppressions="$supp" node "$t"
    done
    rm -f "$supp"
  fi
  [ $fail -eq 0 ]
}

if [ "${1:-}" = --in-guest ]; then
  in_can 0
  exit $?
fi

# --- on the host --------------------------------------------------------------------
if [ "${ASAN_SKIP_BUILD:-0}" != 1 ]; then
  note "building sanitizer variants with cmake-js under .asan/"
  npx cmake-js compile --out .asan/asan --CDUVSCPD_SANITIZE=address,undefined >/dev/null || exit 1
  npx cmake-js compile --out .asan/ubsan --CDUVSCPD_SANITIZE=undefined >/dev/null || exit 1
  npx cmake-js compile --out .asan/valgrind --CDCMAKE_CXX_FLAGS_RELEASE="-O1 -g" >/dev/null || exit 1
  npx tsc -p tsconfig.json || exit 1
fi

# ASan on this host: the suites that do not need CAN.
for t in binding-nocan receive-low-water; do
  run_checked "asan $t (host)" asan_env node --test "dist/test/native/$t.test.js"
done

if ip link show vcan0 >/dev/null 2>&1 || { modprobe -q vcan 2>/dev/null && ip link add vcan0 type vcan 2>/dev/null && ip link set vcan0 up; }; then
  ip link show vcan1 >/dev/null 2>&1 || { ip link add vcan1 type vcan && ip link set vcan1 up; }
  note "vcan available here: ASan, UBSan and valgrind over the binding suites"
  in_can 1 || fail=1
else
  canvm=${CANVM:-}
  for c in "$root/test/can-vm.sh" /work/shared/tools/can-vm.sh; do
    [ -z "$canvm" ] && [ -x "$c" ] && canvm=$c
  done
  if [ -z "$canvm" ]; then
    note "no vcan here and no can-vm.sh: the CAN suites were NOT checked"
    exit 1
  fi
  note "no vcan here: UBSan and valgrind over the binding suites in the CAN guest ($canvm)"
  CANVM_IFACES="vcan0 vcan1" CANVM_TIMEOUT=${CANVM_TIMEOUT:-3000} "$canvm" bash "$root/scripts/asan.sh" --in-guest || fail=1
fi

if [ $fail -eq 0 ]; then note "clean"; else note "REPORTS FOUND"; fi
exit $fail
