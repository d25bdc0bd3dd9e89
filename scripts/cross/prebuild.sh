#!/usr/bin/env bash
# prebuild.sh [--no-smoke] [--floor] [arch...]      (default arches: x64 arm64 armhf)
#
# Produces the prebuilt addons shipped in the npm package:
#   prebuilds/linux-x64/uvscpd.node    x86-64
#   prebuilds/linux-arm64/uvscpd.node  aarch64
#   prebuilds/linux-arm/uvscpd.node    ARMv7-A hard-float (node's process.arch "arm")
# each built by scripts/cross/build.sh (default tool: node-gyp; PREBUILD_TOOL=cmake for
# cmake-js) with Debian 12's g++ against Debian 11's glibc and libstdc++ (so they load on
# glibc >= 2.31 with libstdc++ >= gcc 10: Debian 11+, Ubuntu 20.04+, Raspberry Pi OS 11+),
# stripped, then checked: file(1) architecture, highest GLIBC_ <= $GLIBC_FLOOR, highest
# GLIBCXX_ <= $GLIBCXX_FLOOR, no unversioned libc symbol, and a smoke test (host node for
# x64; for ARM, Debian's ARM node under qemu-user and, with --floor, the official Node.js 18
# build on Debian 11's glibc 2.31, see qemu-smoke.sh).
set -Eeuo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SMOKE=1; FLOOR=(); ARCHES=()
for a in "$@"; do case $a in --no-smoke) SMOKE=0;; --floor) FLOOR=(--floor);; *) check_arch "$a"; ARCHES+=("$a");; esac; done
((${#ARCHES[@]})) || ARCHES=(x64 arm64 armhf)
TOOL=${PREBUILD_TOOL:-gyp}
GLIBC_FLOOR=${GLIBC_FLOOR:-2.31}
GLIBCXX_FLOOR=${GLIBCXX_FLOOR:-3.4.28}
le() { [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1) == "$2" ]]; }   # version $1 <= $2
[[ $(uname -m) == x86_64 ]] || die "prebuild.sh runs on an x86_64 host"

for A in "${ARCHES[@]}"; do
  NA=$(nodearch_of "$A"); T=$(triple_of "$A")
  DEST=$ROOT/prebuilds/linux-$NA
  bash "$ROOT/scripts/cross/build.sh" "$A" "$TOOL" "$CROSS_DIR/out/prebuild-$A"
  mkdir -p "$DEST"
  if [[ $A == x64 ]]; then STRIP=strip; else STRIP=$T-strip; fi
  "$STRIP" --strip-unneeded -o "$DEST/uvscpd.node.tmp" "$CROSS_DIR/out/prebuild-$A/uvscpd.node"
  mv "$DEST/uvscpd.node.tmp" "$DEST/uvscpd.node"
  F=$DEST/uvscpd.node
  check_elf "$A" "$F"
  g=$(glibc_max "$F"); g=${g#GLIBC_}
  x=$({ objdump -T "$F" | grep -oE 'GLIBCXX_[0-9.]+' || true; } | sort -uV | tail -1); x=${x#GLIBCXX_}
  le "$g" "$GLIBC_FLOOR" || die "$F needs glibc $g > floor $GLIBC_FLOOR"
  le "${x:-0}" "$GLIBCXX_FLOOR" || die "$F needs GLIBCXX_$x > floor $GLIBCXX_FLOOR"
  bad=$(unversioned_undefs "$F"); [[ -z $bad ]] || die "$F: unversioned undefined symbols: $bad"
  info "prebuilds/linux-$NA/uvscpd.node: $(stat -c %s "$F") bytes, needs GLIBC_$g GLIBCXX_$x,$(file -b "$F" | cut -d, -f2)"
  if ((SMOKE)); then
    if [[ $A == x64 ]]; then
      ( cd "$ROOT" && info "smoke: $(node scripts/cross/smoke.js "$F")" )
    else
      bash "$ROOT/scripts/cross/qemu-smoke.sh" "${FLOOR[@]}" "$A" "$F" | grep -E '^   (unit tests|floor)|OK \('

    fi
  fi
done
say "prebuilds: $(cd "$ROOT" && du -b prebuilds/*/uvscpd.node | awk '{printf "%s %s  ", $2, $1}')"
