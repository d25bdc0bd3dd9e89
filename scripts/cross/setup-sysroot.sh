#!/usr/bin/env bash
# setup-sysroot.sh [arm64|armhf|x64]... [--refresh]     (default: arm64 armhf)
#
# Prepares, for each foreign architecture, two isolated trees under .cross/ (see lib.sh):
#   node-<arch>   Debian 12 nodejs + its runtime closure + libatomic1 + libnode-dev
#                 (the ARM node for the qemu smoke test; its headers for node-gyp)
#   glibc-<arch>  Debian 11 libc6 + libc6-dev + libstdc++6 + libstdc++-10-dev + libgcc-s1
#                 (+ Debian 12's linux-libc-dev): the sysroot the prebuilds compile and link
#                 against, so they need glibc >= 2.31 and GLIBCXX <= 3.4.28 (gcc 10) only
# Packages come from the host's own Debian archive URIs through apt-get download with a
# private APT_CONFIG (empty dpkg status, APT::Architecture=<arch>) and are unpacked with
# dpkg-deb -x. The host's dpkg database and architectures are never changed.
#
# Warm runs: a tree whose stamp matches is reused without any network access. --refresh
# re-resolves the package lists (apt-get update) and re-downloads what changed.
set -Eeuo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

REFRESH=0; ARCHES=()
for a in "$@"; do
  case $a in --refresh) REFRESH=1;; *) check_arch "$a"; ARCHES+=("$a");; esac
done
((${#ARCHES[@]})) || ARCHES=(arm64 armhf)

NODE_SUITE=${NODE_SUITE:-bookworm}   # the ARM node we run the smoke test in (18.x there)
GLIBC_SUITE=${GLIBC_SUITE:-bullseye} # the glibc we link against (2.31)
# no dependency closure for the link sysroot: only what the compiler and linker read
# libstdc++-10-dev: the C++ library headers and libstdc++.so link name matching Debian 11's
# libstdc++6 (GLIBCXX_3.4.28). libatomic1 only lets the official armv7l node run on it.
GLIBC_PKGS="libc6 libc6-dev libstdc++6 libstdc++-10-dev libgcc-s1 libatomic1"
# Linux UAPI headers (linux/can.h...) do not affect the glibc floor; take them from the newer
# suite: native/ uses can_frame.len, which Linux < 5.11 headers (bullseye: 5.10) call can_dlc.
KHDR_SUITE=${KHDR_SUITE:-$NODE_SUITE}

mk_apt() {  # <arch> <suite>: isolated apt tree; prints its apt.conf
  local A; A=$(debarch_of "$1"); local S=$2 R=$CROSS_DIR/apt-$1-$2 srcs main_uri sec_uri
  mkdir -p "$R"/etc/apt.conf.d "$R"/etc/preferences.d "$R"/etc/sources.list.d \
           "$R"/state/lists/partial "$R"/cache/archives/partial
  [[ -f $R/state/status ]] || : > "$R/state/status"   # empty dpkg status => full closure
  # the archive URIs the host's apt uses (deb822 or one-line format)
  srcs=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -E '^(URIs:|deb )' || true)
  main_uri=$(awk '!/security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' <<<"$srcs")
  sec_uri=$(awk '/security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' <<<"$srcs")
  [[ -n $main_uri ]] || die "no Debian archive URI in the host's apt sources"
  local kr=/usr/share/keyrings/debian-archive-keyring.gpg
  {
    echo "deb [arch=$A signed-by=$kr] $main_uri $S main"
    echo "deb [arch=$A signed-by=$kr] $main_uri $S-updates main"
    if [[ -n $sec_uri ]]; then echo "deb [arch=$A signed-by=$kr] $sec_uri $S-security main"; fi
  } > "$R/etc/sources.list"
  cat > "$R/apt.conf" <<EOF
APT::Architecture "$A";
APT::Architectures { "$A"; };
Dir::Etc "$R/etc";
Dir::Etc::SourceList "$R/etc/sources.list";
Dir::Etc::SourceParts "$R/etc/sources.list.d";
Dir::Etc::Parts "$R/etc/apt.conf.d";
Dir::Etc::PreferencesParts "$R/etc/preferences.d";
Dir::State "$R/state";
Dir::State::status "$R/state/status";
Dir::Cache "$R/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
EOF
  echo "$R/apt.conf"
}

# dl_pkg <pkg[=version]>: download one package; if that file is missing, try older versions
dl_pkg() {
  local p=$1 v
  apt-get download "$p" >/dev/null 2>&1 && return 0
  for v in $(apt-cache madison "${p%%=*}" | awk -F'|' '{gsub(/ /,"",$2); print $2}'); do
    if apt-get download "${p%%=*}=$v" >/dev/null 2>&1; then info "note: ${p%%=*} $v instead of the candidate"; return 0; fi
  done
  return 1
}

# fetch_tree <arch> <suite> <destdir> "<closure pkgs>" "<single pkgs>" [<suite2> "<pkgs2>"]: download the runtime
# closure of the first list (resolved against an empty dpkg status) and the second list without
# dependencies ("@nodejs" in it = the candidate version of nodejs), unpack all into destdir.
# A tree whose stamp matches is reused as is (no network).
fetch_tree() {
  local A=$1 S=$2 D=$3 CLOSURE=$4 SINGLE=$5 S2=${6:-} SINGLE2=${7:-}
  local want="$A $S closure: $CLOSURE single: $SINGLE $S2 $SINGLE2" stamp=$D/.uvscpd-cross-stamp
  if ((!REFRESH)) && [[ -f $stamp ]] && [[ $(head -1 "$stamp") == "$want" ]]; then
    info "$(basename "$D"): up to date ($(sed -n 2p "$stamp"))"; return 0
  fi
  local conf; conf=$(mk_apt "$A" "$S")
  export APT_CONFIG=$conf
  local lists; lists=$(dirname "$conf")/state/lists
  if ((REFRESH)) || ! ls "$lists"/*Packages* >/dev/null 2>&1; then
    apt-get update >"$LOGS/apt-update-$A-$S.log" 2>&1 \
      || { info "WARNING: apt-get update ($A $S) reported errors:"; grep -E '^(E|W):' "$LOGS/apt-update-$A-$S.log" | head -3 | sed 's/^/   | /'; }
  fi
  local pkgs="" p f
  if [[ -n $CLOSURE ]]; then
    # shellcheck disable=SC2086
    pkgs=$(apt-get -s install $CLOSURE 2>"$LOGS/apt-resolve-$A-$S.log" | awk '/^Inst/{print $2}')
    [[ -n $pkgs ]] || { cat "$LOGS/apt-resolve-$A-$S.log" >&2; die "cannot resolve $CLOSURE for $A in $S"; }
  fi
  local nodever; nodever=$(apt-cache policy nodejs | awk '/Candidate:/{print $2}')
  local single=()
  for p in $SINGLE; do single+=("${p/@nodejs/$nodever}"); done
  local DEBS=$CROSS_DIR/debs-$A-$S; mkdir -p "$DEBS"
  # one batch; if a pool file is missing on the mirror (seen here: security-updated .debs that
  # 404), fetch package by package, falling back to the older versions apt knows
  # shellcheck disable=SC2086
  if ! ( cd "$DEBS" && apt-get download $pkgs "${single[@]}" >"$LOGS/apt-download-$A-$S.log" 2>&1 ); then
    for p in $pkgs "${single[@]}"; do
      ( cd "$DEBS" && dl_pkg "$p" ) || die "apt-get download $p ($A $S) failed, see $LOGS/apt-download-$A-$S.log"
    done
  fi
  unset APT_CONFIG
  rm -f "$(dirname "$conf")"/cache/*.bin
  local DEBS2=$CROSS_DIR/debs-$A-$S2
  if [[ -n $S2 ]]; then   # a few packages (no dependencies) from a second suite
    conf=$(mk_apt "$A" "$S2"); export APT_CONFIG=$conf
    ls "$(dirname "$conf")"/state/lists/*Packages* >/dev/null 2>&1 || apt-get update >"$LOGS/apt-update-$A-$S2.log" 2>&1 || true
    mkdir -p "$DEBS2"
    for p in $SINGLE2; do ( cd "$DEBS2" && dl_pkg "$p" ) || die "apt-get download $p ($A $S2) failed"; done
    unset APT_CONFIG
  fi
  rm -rf "$D"; mkdir -p "$D"
  local vers=() src
  for src in $(for p in $pkgs "${single[@]}"; do echo "$DEBS/${p%%=*}"; done) \
             $(for p in $SINGLE2; do echo "$DEBS2/${p%%=*}"; done); do
    DEBS=$(dirname "$src"); p=$(basename "$src")
    # newest downloaded .deb of that package (older versions may linger in the cache)
    f=$(ls -1 "$DEBS/${p}_"*.deb 2>/dev/null | sort -V | tail -1)
    [[ -n $f ]] || die "no .deb for $p in $DEBS"
    dpkg-deb -x "$f" "$D"
    vers+=("$(basename "$f" .deb)")
  done
  # absolute symlinks (e.g. usr/lib/<triple>/libpthread.so -> /lib/<triple>/libpthread.so.0) would
  # point into the HOST; the linker would then silently pick the static libpthread.a. Make them
  # relative to the tree.
  local l t
  while IFS= read -r -d '' l; do
    t=$(readlink "$l")
    ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$D$t")" "$l"
  done < <(find "$D" -type l -lname '/*' -print0)
  { echo "$want"; echo "${#vers[@]} debs, $(du -sh "$D" | cut -f1)"; printf '%s\n' "${vers[@]}"; } > "$stamp"
  info "$(basename "$D"): $(sed -n 2p "$stamp")"
}

for A in "${ARCHES[@]}"; do
  T=$(triple_of "$A")
  say "$A: target node ($NODE_SUITE) -> $(node_root "$A")"
  # libnode-dev: headers + common.gypi + config.gypi of exactly this node (node-gyp --nodedir)
  NR=$(node_root "$A")
  if [[ $A == x64 ]]; then   # the host runs x64 itself: only node's headers for node-gyp
    fetch_tree "$A" "$NODE_SUITE" "$NR" "" "libnode-dev=@nodejs"
  else
    fetch_tree "$A" "$NODE_SUITE" "$NR" "nodejs libatomic1" "libnode-dev=@nodejs"
  fi
  [[ $A == x64 ]] || OUT=$("$(qemu_of "$A")" -L "$NR" "$NR/usr/bin/node" -p 'process.arch+" node "+process.version+" napi "+process.versions.napi') \
    || die "the $A node does not start under $(qemu_of "$A")"
  [[ $A == x64 ]] || info "qemu: $OUT"
  [[ -f $NR/usr/include/node/node_api.h ]] || die "libnode-dev headers missing in $NR/usr/include/node"

  say "$A: link sysroot ($GLIBC_SUITE) -> $(glibc_root "$A")"
  GR=$(glibc_root "$A")
  fetch_tree "$A" "$GLIBC_SUITE" "$GR" "" "$GLIBC_PKGS" "$KHDR_SUITE" linux-libc-dev
  [[ -f $GR/usr/include/$T/bits/libc-header-start.h && -f $GR/usr/include/linux/can.h ]] \
    || die "glibc sysroot $GR incomplete"
  info "glibc $(ls "$GR"/lib/"$T"/libc-*.so 2>/dev/null | grep -oE '[0-9]+\.[0-9]+' | head -1)"
done
