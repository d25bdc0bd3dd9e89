#!/usr/bin/env bash
# Project copy of the User-Mode Linux CAN guest (kept here so a clone has everything: see scripts/run-tests.js).
# can-vm.sh - run a command inside a throw-away User-Mode-Linux (UML) guest kernel that
# has real SocketCAN (can, can_raw, can_bcm, can_gw, can_dev, vcan, vxcan) and vcan0 up.
# For hosts whose own kernel has no CAN support (CONFIG_CAN unset, no modules, no KVM
# needed). Needs only root, x86_64 and Debian 12 (bookworm) packages.
#
#   usage: can-vm.sh <command> [args...]        e.g.  can-vm.sh npm test
#
# * The guest's root file system is the host's "/" (hostfs, read-write): the host's node,
#   python3, can-utils, node_modules and native addons are used unchanged, and whatever
#   the command writes (build output, coverage, reports) lands on the host.
# * The command runs as root, in the current directory, with the caller's exported
#   environment (plus CANVM_GUEST=1). stdin is /dev/null; stdout and stderr are pipes that
#   are streamed to this script's stdout and stderr (kept separate).
# * Exit status = the command's exit status; 124 = CANVM_TIMEOUT hit; 125 = VM failure.
# * The guest has no network except lo (127.0.0.1) and the vcan interfaces. Run
#   `npm ci` / node-gyp builds on the host, run the tests in the guest.
#
# Knobs (environment):
#   CANVM_MEM=2G            guest RAM (allocated lazily from a tmpfs file on the host)
#   CANVM_TIMEOUT=0         kill the VM after this many seconds (0 = never)
#   CANVM_IFACES="vcan0"    vcan interfaces to create + bring up (space separated)
#   CANVM_CPU=<n>           host CPU to pin UML to (default: one from our affinity mask)
#   CANVM_DEBUG=0           1 = dump UML + guest-kernel console log to stderr afterwards
#   CANVM_NO_APT=0          1 = never run apt-get (fail if something is missing)
#   CANVM_UML=/usr/bin/linux.uml          UML kernel binary
#   CANVM_UML_MODDIR=/usr/lib/uml/modules its modules (<moddir>/<version>/kernel/...)
#   CANVM_SHIM=auto         xstate shim: auto (UML < 6.13) | 1 | 0, see below
#   CANVM_KARGS=""          extra UML kernel parameters (e.g. "seccomp=on" for UML >= 6.15)
#   CANVM_TMP=/tmp          where the per-run directory goes (must not be mounted noexec)
set -euo pipefail

CANVM_MEM=${CANVM_MEM:-2G}
CANVM_TIMEOUT=${CANVM_TIMEOUT:-0}
CANVM_IFACES=${CANVM_IFACES:-vcan0}
CANVM_DEBUG=${CANVM_DEBUG:-0}
CANVM_NO_APT=${CANVM_NO_APT:-0}
CANVM_UML=${CANVM_UML:-/usr/bin/linux.uml}
CANVM_UML_MODDIR=${CANVM_UML_MODDIR:-/usr/lib/uml/modules}
CANVM_SHIM=${CANVM_SHIM:-auto}
CANVM_TMP=${CANVM_TMP:-/tmp}

die() { echo "can-vm: $*" >&2; exit 125; }
[ "$(id -u)" = 0 ] || die "must run as root"
[ "$(uname -m)" = x86_64 ] || die "x86_64 only"
[ $# -gt 0 ] || set -- ip -d link show

# ------------------------------------------------------------------ host packages
need=()
[ -x "$CANVM_UML" ] || [ "$CANVM_UML" != /usr/bin/linux.uml ] || need+=(user-mode-linux)
command -v insmod  >/dev/null 2>&1 || need+=(kmod)       # guest uses the host's userland
command -v ip      >/dev/null 2>&1 || need+=(iproute2)
command -v perl    >/dev/null 2>&1 || need+=(perl-base)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v cansend >/dev/null 2>&1 || need+=(can-utils)  # handy for tests/debugging
command -v gcc     >/dev/null 2>&1 || need+=(gcc libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  [ "$CANVM_NO_APT" = 1 ] && die "missing packages: ${need[*]}"
  echo "can-vm: apt-get install ${need[*]}" >&2
  aptlog=$(mktemp)
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  } </dev/null >"$aptlog" 2>&1 || { cat "$aptlog" >&2; rm -f "$aptlog"; die "apt-get install ${need[*]} failed"; }
  rm -f "$aptlog"
fi
[ -x "$CANVM_UML" ] || die "no UML kernel at $CANVM_UML"

KVER=$(ls -1 "$CANVM_UML_MODDIR" 2>/dev/null | sort -V | tail -n1)
MODS=$CANVM_UML_MODDIR/$KVER/kernel
[ -n "$KVER" ] && [ -e "$MODS/drivers/net/can/vcan.ko" ] || die "no vcan.ko under $CANVM_UML_MODDIR"

# Debian 12's UML (6.1) only knows the legacy+AVX part of the FPU state (832 bytes). On
# hosts with AVX-512/AMX the host kernel insists on the *full* XSAVE size in
# PTRACE_SETREGSET(NT_X86_XSTATE) and answers EFAULT, so stock UML panics at once with
# "userspace - ptrace set fp regs failed, errno = 14" / "Attempted to kill init!".
# (Fixed upstream in UML >= 6.13: it sizes the buffer from the host.) The LD_PRELOAD shim
# below keeps a full-size shadow copy per guest thread, which makes thread switches exact.
# Residual gap: UML's *signal frames* still carry only 832 bytes, so AVX-512-only state
# (zmm16-31, upper zmm halves, k0-7) is not restored by sigreturn. glibc's EVEX string
# functions live in exactly those registers, so when the shim is active on an AVX-512 host
# we tell the guest's glibc not to use AVX-512 (GLIBC_TUNABLES); measured: 0 corruptions
# instead of ~8000 per 11000 signals in a memcpy/strlen-vs-signal-handler stress test.
if [ "$CANVM_SHIM" = auto ]; then
  if [ "$(printf '%s\n' "$KVER" 6.13 | sort -V | head -n1)" = 6.13 ]; then CANVM_SHIM=0; else CANVM_SHIM=1; fi
fi

# ------------------------------------------------------------------ run directory
# remove run dirs of earlier invocations that were SIGKILLed (their owner pid is gone)
for d in "$CANVM_TMP"/canvm.??????; do
  [ -f "$d/owner" ] && ! kill -0 "$(cat "$d/owner" 2>/dev/null)" 2>/dev/null && rm -rf "$d"
done
RUN=$(mktemp -d "$CANVM_TMP/canvm.XXXXXX")
echo $$ > "$RUN/owner"
UML_PID=""; PUMP_PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$UML_PID" ]; then        # still running: we were interrupted / timed out
    kill -TERM "$UML_PID" 2>/dev/null || true      # UML halts and reaps its stubs on TERM
    for _ in $(seq 1 25); do kill -0 "$UML_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$UML_PID" 2>/dev/null || true  # its own session/process group (setsid)
  fi
  for p in "${PUMP_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$RUN"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP

# The guest sees the host's file system, so RUN is shared with it: init script, command,
# environment, exit status and a modprobe root all live here.
mkdir -p "$RUN/modroot/lib/modules" "$RUN/bin" "$RUN/uml"
ln -s "$CANVM_UML_MODDIR/$KVER" "$RUN/modroot/lib/modules/$KVER"
printf '#!/bin/sh\nexec /usr/sbin/modprobe -d %q "$@"\n' "$RUN/modroot" > "$RUN/bin/modprobe"
chmod +x "$RUN/bin/modprobe"                       # so `modprobe vcan` works in the guest

SHIM_ENV=(-u LD_PRELOAD)      # the caller's LD_PRELOAD (if any) is for the guest, not UML
if [ "$CANVM_SHIM" = 1 ]; then
  cat > "$RUN/xstate-shim.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#define NT_XSTATE 0x202
#define MAXXS (1u << 16)   /* > any current x86 XSAVE size (AMX: 11008 bytes) */
#define NSLOT 8192
typedef long (*ptrace_fn)(int, ...);
static ptrace_fn real_ptrace;
static size_t full_size;
static struct { void *key; unsigned char *buf; } tab[NSLOT];
static unsigned char scratch[MAXXS];
/* one full-size shadow XSAVE buffer per UML fp-register buffer (= per guest thread) */
static unsigned char *shadow(void *key, int create)
{
    uintptr_t h = ((uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ull;
    for (unsigned i = 0; i < NSLOT; i++) {
        unsigned s = (unsigned)((h >> 40) + i) % NSLOT;
        if (tab[s].key == key) return tab[s].buf;
        if (!tab[s].key) {
            if (!create) return NULL;
            unsigned char *b = malloc(MAXXS);
            if (!b) return NULL;
            tab[s].key = key; tab[s].buf = b;
            return b;
        }
    }
    return NULL;
}
long ptrace(enum __ptrace_request req, ...)
{
    va_list ap;
    va_start(ap, req);
    pid_t pid = va_arg(ap, pid_t);
    void *addr = va_arg(ap, void *);
    void *data = va_arg(ap, void *);
    va_end(ap);
    if (!real_ptrace) real_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
    if ((req == PTRACE_GETREGSET || req == PTRACE_SETREGSET) &&
        (uintptr_t)addr == NT_XSTATE && data) {
        struct iovec *u = data;
        size_t want = u->iov_len;
        if (req == PTRACE_GETREGSET) {       /* full state -> shadow, prefix -> UML */
            unsigned char *sb = shadow(u->iov_base, 1);
            if (!sb) sb = scratch;
            struct iovec iov = { sb, MAXXS };
            long r = real_ptrace(PTRACE_GETREGSET, pid, addr, &iov);
            if (r < 0) return r;
            full_size = iov.iov_len;
            size_t n = want < full_size ? want : full_size;
            memcpy(u->iov_base, sb, n);
            u->iov_len = n;
            return r;
        }
        if (full_size == 0 || want >= full_size)
            return real_ptrace(req, pid, addr, data);
        unsigned char *sb = shadow(u->iov_base, 0);
        if (!sb) {  /* unseen buffer (new thread/process): start from tracee's state */
            struct iovec g = { scratch, MAXXS };
            long r = real_ptrace(PTRACE_GETREGSET, pid, addr, &g);
            if (r < 0) return r;
            sb = scratch;
        }
        memcpy(sb, u->iov_base, want);       /* UML's prefix over the full shadow */
        struct iovec iov = { sb, full_size };
        return real_ptrace(PTRACE_SETREGSET, pid, addr, &iov);
    }
    return real_ptrace(req, pid, addr, data);
}
EOF
  gcc -O2 -shared -fPIC -o "$RUN/xstate-shim.so" "$RUN/xstate-shim.c" -ldl \
    || die "cannot build the UML xstate shim"
  SHIM_ENV=(LD_PRELOAD="$RUN/xstate-shim.so")
fi

# caller's environment + command, replayed by the guest's init
GUEST_TUNABLES=""
if [ "$CANVM_SHIM" = 1 ] && grep -qw avx512f /proc/cpuinfo; then
  GUEST_TUNABLES="glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD"
fi
export -p | grep -Ev '^declare -x (OLDPWD|SHLVL|_)=' > "$RUN/env" || true
{
  printf 'umask %s\n' "$(umask)"
  printf 'ulimit -n %s 2>/dev/null\n' "$(ulimit -n)"
  printf 'cd %q || exit 126\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$RUN/cmd"

{
  echo '#!/bin/bash'
  echo '# PID 1 of the UML guest (generated by can-vm.sh)'
  printf 'RUN=%q MODS=%q IFACES=%q TUNABLES=%q\n' "$RUN" "$MODS" "$CANVM_IFACES" "$GUEST_TUNABLES"
  cat <<'EOF'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
halt_now() { sync; perl -e 'syscall(169, 0xfee1dead, 0x28121969, 0x4321fedc, 0)'; sleep 30; }
fail() { echo "can-vm guest: $*" >&2; echo 125 > "$RUN/rc.tmp" && mv "$RUN/rc.tmp" "$RUN/rc"; halt_now; }
exec 2>/dev/console
mount -t proc proc /proc && mount -t sysfs sysfs /sys || fail "mount proc/sys"
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run          # guest-private /run; the host's is untouched
mkdir -p /run/lock /run/canvm
hostname canvm
ip link set lo up || fail "lo up"
for m in net/can/can.ko net/can/can-raw.ko net/can/can-bcm.ko net/can/can-gw.ko \
         drivers/net/can/dev/can-dev.ko drivers/net/can/vcan.ko drivers/net/can/vxcan.ko; do
  insmod "$MODS/$m" || fail "insmod $m"
done
for i in $IFACES; do
  # mtu 72 = CAN FD capable (accepts classic frames too); newer kernels default to 16
  { ip link add dev "$i" type vcan && ip link set "$i" mtu 72 && ip link set "$i" up; } ||
    fail "cannot create $i"
done
# guest tty1/tty2 are wired to the host-side pipes; raw = byte-exact, no \n -> \r\n
stty -F /dev/tty1 raw -echo && stty -F /dev/tty2 raw -echo || fail "stty"
mkfifo /run/canvm/out /run/canvm/err
cat /run/canvm/out > /dev/tty1 & P1=$!
cat /run/canvm/err > /dev/tty2 & P2=$!
set -a; . "$RUN/env"; set +a
export PATH="$RUN/bin:$PATH" CANVM_GUEST=1
[ -n "$TUNABLES" ] && export GLIBC_TUNABLES="$TUNABLES${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"
( . "$RUN/cmd" ) </dev/null >/run/canvm/out 2>/run/canvm/err
rc=$?
# let the pumps drain (daemons left behind by the command may keep the pipes open)
for _ in $(seq 1 50); do kill -0 $P1 2>/dev/null || kill -0 $P2 2>/dev/null || break; sleep 0.1; done
kill $P1 $P2 2>/dev/null
perl -MPOSIX -e 'for (1, 2) { open(my $t, ">", "/dev/tty$_") and POSIX::tcdrain(fileno($t)) }'
echo $rc > "$RUN/rc.tmp" && mv "$RUN/rc.tmp" "$RUN/rc"
halt_now
EOF
} > "$RUN/init"
chmod +x "$RUN/init"

# ------------------------------------------------------------------ boot
# UML's "physical memory" is a file; keep it on tmpfs (/dev/shm) when that is usable.
# (Docker's default /dev/shm is 64 MiB + noexec: unusable, the guest would die of SIGBUS.)
MEMDIR=$RUN
mem_bytes=$(numfmt --from=iec "${CANVM_MEM%[bB]}" 2>/dev/null || echo 0)
shm_free=$(df -B1 --output=avail /dev/shm 2>/dev/null | tail -n1 | tr -d ' ' || echo 0)
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "${shm_free:-0}" -gt "$mem_bytes" ] &&
   ! awk '$2 == "/dev/shm" && $4 ~ /noexec/ {f=1} END {exit !f}' /proc/mounts; then
  MEMDIR=/dev/shm
fi
# Pin UML to ONE host CPU: UML is single-CPU anyway and ping-pongs between its kernel
# process and the traced guest processes; keeping both on one CPU avoids cross-CPU
# wake-ups (measured here: 51 -> 5.5 us per guest syscall, ~10x faster overall).
if [ -z "${CANVM_CPU:-}" ]; then
  cpus=()
  IFS=, read -ra parts <<< "$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)"
  for p in "${parts[@]}"; do
    if [[ $p == *-* ]]; then for ((c = ${p%-*}; c <= ${p#*-}; c++)); do cpus+=("$c"); done
    else cpus+=("$p"); fi
  done
  CANVM_CPU=${cpus[$(( $$ % ${#cpus[@]} ))]}
fi
# Private pipes for the guest's stdout/stderr: UML sets O_NONBLOCK on its channel fds,
# which must not leak onto the caller's (possibly shared) stdout/stderr.
mkfifo "$RUN/out" "$RUN/err"
cat "$RUN/out" & PUMP_PIDS+=($!)
cat "$RUN/err" >&2 & PUMP_PIDS+=($!)

# initcall_blacklist: skip the RAID6 speed benchmark (~0.85 s of the ~1 s kernel boot)
# and zswap setup; the guest has no btrfs/md-raid and no swap, so neither is ever used.
TO=()
[ "$CANVM_TIMEOUT" != 0 ] && TO=(timeout -k 10 "$CANVM_TIMEOUT")
# setsid: own process group (so every UML helper can be reaped); pdeathsig: UML halts if
# this script gets SIGKILLed.
env "${SHIM_ENV[@]}" TMPDIR="$MEMDIR" \
  setsid setpriv --pdeathsig TERM "${TO[@]}" taskset -c "$CANVM_CPU" "$CANVM_UML" \
  mem="$CANVM_MEM" root=/dev/root rootfstype=hostfs rootflags=/ rw \
  init="$RUN/init" umid="canvm-$$" uml_dir="$RUN/uml" quiet \
  initcall_blacklist=raid6_select_algo,raid6_init,init_zswap ${CANVM_KARGS:-} \
  con=null ssl=null con0=null,fd:5 con1=null,fd:3 con2=null,fd:4 \
  3>"$RUN/out" 4>"$RUN/err" 5>"$RUN/console.log" >"$RUN/uml.log" 2>&1 </dev/null &
UML_PID=$!
set +e; wait "$UML_PID"; uml_rc=$?; set -e
kill -KILL -- "-$UML_PID" 2>/dev/null || true   # leftover UML helper processes, if any
UML_PID=""
for _ in $(seq 1 50); do                          # pumps end at EOF; don't hang on them
  alive=0; for p in "${PUMP_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break; sleep 0.1
done

if [ "$CANVM_DEBUG" = 1 ]; then
  { echo "----- can-vm: UML exit $uml_rc (cpu $CANVM_CPU, shim $CANVM_SHIM, kernel $KVER) uml.log:"
    cat "$RUN/uml.log"; echo "----- guest console:"; cat "$RUN/console.log"; } >&2
fi
if [ -s "$RUN/rc" ]; then exit "$(cat "$RUN/rc")"; fi
if [ "$CANVM_TIMEOUT" != 0 ] && { [ "$uml_rc" = 124 ] || [ "$uml_rc" = 137 ]; }; then
  echo "can-vm: timed out after ${CANVM_TIMEOUT}s" >&2; exit 124
fi
{ echo "can-vm: guest ended without an exit status (UML exit $uml_rc)"
  cat "$RUN/uml.log"
  grep -a -m 10 -E 'can-vm guest|failed|panic|Kernel|error' "$RUN/console.log"
  echo "... (last console lines:)"; tail -n 12 "$RUN/console.log"; } >&2
exit 125
