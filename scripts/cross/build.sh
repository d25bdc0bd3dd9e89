#!/usr/bin/env bash
# build.sh <arm64|armhf|x64> <cmake|gyp> [outdir]
#
# Builds native/ into <outdir>/uvscpd.node (default .cross/out/<arch>-<tool>/) for the given
# Linux architecture, compiled and linked against Debian 11's glibc and libstdc++ (floor:
# glibc 2.31, GLIBCXX_3.4.28) with Debian 12's g++, then checks the
# result with file(1) (pitfall: --arch alone silently builds x86-64) and prints the highest
# GLIBC_ / GLIBCXX_ version it references.
#   cmake  cmake-js + cmake/toolchain-<arch>.cmake (headers from the node-api-headers package)
#   gyp    node-gyp with the cross compilers and the ARM node's own headers (libnode-dev)
# x64 is the host: the same glibc-floor link, no cross compiler (used by prebuild.sh).
# The repo's own build/ and build-cmake/ are never touched: node-gyp runs in a staging copy
# under .cross/build/ (it cannot build out of tree), cmake-js with --out .cross/build/...
#   env: UVSCPD_SYSROOT=none  link against the cross compiler's own glibc instead (Debian 12)
set -Eeuo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

A=${1:-}; TOOL=${2:-}; check_arch "$A"
case $TOOL in cmake|gyp) ;; *) die "usage: build.sh <arm64|armhf|x64> <cmake|gyp> [outdir]";; esac
OUT=${3:-$CROSS_DIR/out/$A-$TOOL}
T=$(triple_of "$A"); NA=$(nodearch_of "$A")
[[ -x $ROOT/node_modules/.bin/cmake-js && -d $ROOT/node_modules/node-addon-api ]] \
  || die "node_modules incomplete: run 'npm ci' (or 'npm ci --ignore-scripts') first"

bash "$ROOT/scripts/cross/setup-sysroot.sh" "$A" >/dev/null
SR=${UVSCPD_SYSROOT:-$(glibc_root "$A")}
[[ $SR == none ]] && SR=""
unset UVSCPD_SYSROOT   # the toolchain files read it from the environment too; we pass it with -D
if [[ $A == x64 ]]; then CROSS=""; else CROSS="$T-"; fi
command -v "${CROSS}g++" >/dev/null || die "${CROSS}g++ not found: run scripts/cross/install-deps.sh"

# Compiler/linker flags for the Debian 11 sysroot (the same logic as cmake/toolchain-*.cmake):
# -nostdinc, then the sysroot's libstdc++ 10 headers, the compiler's builtin headers (stddef.h,
# intrinsics) and the sysroot's libc headers. Without -nostdinc, the cross g++ would also see
# its own newer headers under /usr/<triple>/include: e.g. __has_include(<sys/single_threaded.h>)
# there makes the code reference __libc_single_threaded (glibc 2.32). -L/-B: the sysroot's
# libstdc++.so (GLIBCXX 3.4.28), libc.so, libpthread.so, crti.o before the compiler's own.
floor_flags() {
  local gi cxxv
  gi=$("${CROSS}g++" -print-file-name=include)
  cxxv=$(ls "$SR/usr/include/c++" | sort -V | tail -1)
  [[ -n $cxxv && -d $SR/usr/include/$T/c++/$cxxv ]] || die "no libstdc++ headers in $SR (libstdc++-N-dev)"
  FLOOR_CFLAGS="--sysroot=$SR -nostdinc -isystem $gi -isystem $SR/usr/include/$T -isystem $SR/usr/include"
  FLOOR_CXXFLAGS="--sysroot=$SR -nostdinc -isystem $SR/usr/include/c++/$cxxv -isystem $SR/usr/include/$T/c++/$cxxv -isystem $SR/usr/include/c++/$cxxv/backward -isystem $gi -isystem $SR/usr/include/$T -isystem $SR/usr/include"
  FLOOR_LDFLAGS="--sysroot=$SR -L$SR/usr/lib/gcc/$T/$cxxv -L$SR/lib/$T -L$SR/usr/lib/$T -B$SR/usr/lib/$T/"
}

mkdir -p "$OUT" "$CROSS_DIR/build"
rm -f "$OUT/uvscpd.node"
say "build $A with $TOOL${SR:+ (glibc sysroot ${SR#"$ROOT"/})}"
t0=$(date +%s.%N)
case $TOOL in
  cmake)
    BD=$CROSS_DIR/build/cmake-$A
    rm -rf "$BD"     # a clean configure: the toolchain's *_INIT flags only apply to a fresh cache
    args=(compile -O "$BD" -a "$NA")
    if [[ $A != x64 ]]; then
      args+=("--CDCMAKE_TOOLCHAIN_FILE=$ROOT/cmake/toolchain-$A.cmake")
      [[ -n $SR ]] && args+=("--CDUVSCPD_SYSROOT=$SR")
    elif [[ -n $SR ]]; then
      floor_flags
      args+=("--CDCMAKE_SHARED_LINKER_FLAGS=$FLOOR_LDFLAGS"
             "--CDCMAKE_CXX_FLAGS_RELEASE=-O3 -DNDEBUG $FLOOR_CXXFLAGS")
    fi
    # called directly (not through npm/npx) so ~/.npmrc settings are not injected as env vars
    ( cd "$ROOT" && logrun "build-$A-cmake.log" env -u npm_config_nodedir -u npm_config_arch \
        node node_modules/cmake-js/bin/cmake-js "${args[@]}" ) || die "cmake-js build failed ($LOGS/build-$A-cmake.log)"
    cp "$BD/Release/uvscpd.node" "$OUT/uvscpd.node"
    ;;
  gyp)
    # staging copy: node-gyp always writes ./build, which belongs to the host build
    BD=$CROSS_DIR/build/gyp-$A
    mkdir -p "$BD"
    rm -rf "$BD/native"
    cp -r "$ROOT/native" "$ROOT/binding.gyp" "$ROOT/package.json" "$BD/"
    ln -sfn "$ROOT/node_modules" "$BD/node_modules"
    ND=$(node_root "$A")/usr      # the target node's headers, common.gypi, config.gypi
    [[ -f $ND/include/node/common.gypi ]] || die "no node headers in $ND (setup-sysroot.sh)"
    CF="" CXF="" LF=""
    if [[ -n $SR ]]; then floor_flags; CF=$FLOOR_CFLAGS; CXF=$FLOOR_CXXFLAGS; LF=$FLOOR_LDFLAGS; fi
    # node-gyp lets npm_config_* env vars override its command line, and npm exports ~/.npmrc
    # keys (nodedir=/usr here) that way: set them explicitly and call node-gyp.js directly.
    ( cd "$BD" && logrun "build-$A-gyp.log" env \
        npm_config_arch="$NA" npm_config_nodedir="$ND" npm_config_devdir="$CROSS_DIR/node-gyp-dev" \
        CC="${CROSS}gcc" CXX="${CROSS}g++" LINK="${CROSS}g++" AR="${CROSS}ar" \
        CC_host=gcc CXX_host=g++ \
        CFLAGS="$CF" CXXFLAGS="$CXF" LDFLAGS="$LF" \
        node "$ROOT/node_modules/node-gyp/bin/node-gyp.js" rebuild --arch="$NA" --nodedir="$ND" \
          --jobs="$(nproc)" --verbose ) || die "node-gyp build failed ($LOGS/build-$A-gyp.log)"
    cp "$BD/build/Release/uvscpd.node" "$OUT/uvscpd.node"
    ;;
esac
check_elf "$A" "$OUT/uvscpd.node"
d=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
info "$OUT/uvscpd.node: $(file -b "$OUT/uvscpd.node" | cut -d, -f1-3)"
cxx=$(objdump -T "$OUT/uvscpd.node" | grep -oE 'GLIBCXX_[0-9.]+' | sort -uV | tail -1 || true)
bad=$(unversioned_undefs "$OUT/uvscpd.node")
[[ -z $bad || -z $SR ]] || die "$OUT/uvscpd.node has unversioned undefined symbols (a header/library mismatch): $bad"
info "size $(stat -c %s "$OUT/uvscpd.node") bytes; needs $(glibc_max "$OUT/uvscpd.node"), ${cxx:-no GLIBCXX}; ${d}s"
