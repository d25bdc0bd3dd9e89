#!/usr/bin/env bash
# Instructions per classic frame in the addon's receive loop (ReadOnceLocked: recvmmsg and
# the records) and in its send (CanSocketWrap::Send: records to frames, sendmmsg), counted
# by callgrind: instruction counts, unlike times, repeat under load (bench/README.md).
#
#   bench/callgrind-classic.sh [ADDON ...]     default: build/Release/uvscpd.node
#
# Give two addons (e.g. one built from main, one from this tree) to compare them. Needs
# valgrind and vcan: runs here when this kernel has vcan0, else in the CAN guest
# (test/can-vm.sh). CALLGRIND_FRAMES (default 10000) frames per addon.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ $# -gt 0 ] || set -- build/Release/uvscpd.node
frames=${CALLGRIND_FRAMES:-10000}

if [ -z "${CANVM_GUEST:-}" ] && ! ip link show vcan0 >/dev/null 2>&1; then
  exec env CALLGRIND_FRAMES="$frames" CANVM_IFACES=vcan0 test/can-vm.sh bash "$0" "$@"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-48s %14s %14s\n' addon 'rx Ir/frame' 'send Ir/frame'
for addon in "$@"; do
  f="$out/callgrind.out"
  valgrind --tool=callgrind --callgrind-out-file="$f" --collect-atstart=no \
    --toggle-collect='uvscpd::ReadOnceLocked*' --toggle-collect='uvscpd::CanSocketWrap::Send(*' \
    node bench/callgrind-classic.js "$addon" vcan0 "$frames" >"$out/log" 2>&1 || { cat "$out/log" >&2; exit 1; }
  grep -q "received=$frames kernelDrops=0" "$out/log" || { cat "$out/log" >&2; exit 1; }
  # Inclusive instruction counts of the two functions (each collected with its callees).
  ann=$(callgrind_annotate --inclusive=yes "$f")
  ir() { printf '%s\n' "$ann" | grep -F "$1" | head -n1 | awk '{ gsub(",", "", $1); print $1 }'; }
  rx=$(ir 'uvscpd::ReadOnceLocked(')
  tx=$(ir 'uvscpd::CanSocketWrap::Send(')
  awk -v a="$addon" -v rx="${rx:-0}" -v tx="${tx:-0}" -v n="$frames" \
    'BEGIN { printf "%-48s %14.1f %14.1f\n", a, rx / n, tx / n }'
done
