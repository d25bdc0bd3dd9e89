#!/usr/bin/env bash
# pack-test.sh — "installing the packed tarball on a machine with no compiler uses the prebuild"
#
#   1. npm pack (dist/ and prebuilds/ must exist: npx tsc; scripts/cross/prebuild.sh). If
#      package.json has no "install" script yet, the proposed one is applied to a staging copy
#      (docs/appliance.md): "install": "node scripts/install.js", and
#      "scripts/install.js" in "files".
#   2. npm install <tarball> in .cross/pack/app with PATH = a directory of symlinks to node,
#      npm, sh and basic tools only (no cc, gcc, g++, c++, make, cmake, python3), HOME empty
#      (no ~/.npmrc): must succeed using prebuilds/linux-x64, and require('uvscpd') must load it.
#   3. the same with the package.json as it is today, when it has no install script (npm's
#      default `node-gyp rebuild`): expected to FAIL without a compiler (the negative control).
#   4. fallback: full PATH + UVSCPD_BUILD_FROM_SOURCE=1 builds from source with node-gyp.
# Prints the tarball size with and without prebuilds and the installed size (du).
set -Eeuo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

P=$CROSS_DIR/pack
rm -rf "$P"; mkdir -p "$P/bin" "$P/home" "$P/src"
[[ -f $ROOT/dist/lib/index.js ]] || die "dist/ missing: npx tsc -p tsconfig.json"
[[ -f $ROOT/prebuilds/linux-x64/uvscpd.node ]] || die "prebuilds/ missing: bash scripts/cross/prebuild.sh"

# ---- a PATH without any compiler, make or python
for t in node npm sh bash env cat ls mkdir rm cp mv ln chmod tar gzip uname sed grep dirname \
         basename readlink realpath du sort head tail tr cut wc find xargs date sleep true false id \
         touch stat mktemp expr printf test; do
  p=$(command -v "$t" || true); [[ -n $p && $p == /* ]] && ln -sf "$p" "$P/bin/$t"
done
for t in cc gcc g++ c++ make cmake python3 python; do
  if PATH=$P/bin command -v "$t" >/dev/null 2>&1; then die "stripped PATH still has $t"; fi
done
cleanenv() { env -i HOME="$P/home" PATH="$P/bin" npm_config_cache="$CROSS_DIR/npm-cache" \
  npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false "$@"; }

# ---- staging copy of the package, with the proposed package.json change if needed
pack_from() {  # <dir> -> prints the tarball path
  (cd "$1" && npm pack --ignore-scripts --silent --pack-destination "$P" 2>/dev/null | tail -1 | sed "s#^#$P/#")
}
# the exact file list `npm pack` takes from the real package.json, plus scripts/install.js
(cd "$ROOT" && npm pack --dry-run --ignore-scripts --json 2>/dev/null) \
  | node -e 'for (const f of JSON.parse(require("fs").readFileSync(0, "utf8"))[0].files) console.log(f.path)' > "$P/files.txt"
grep -qx 'scripts/install.js' "$P/files.txt" || echo scripts/install.js >> "$P/files.txt"
copy_pkg() {  # <dest>
  mkdir -p "$1"
  (cd "$ROOT" && tar cf - -T "$P/files.txt") | tar xf - -C "$1"
}
copy_pkg "$P/src"
HAS_INSTALL=$(node -p 'Boolean((require(process.argv[1]).scripts||{}).install)' "$ROOT/package.json")
if [[ $HAS_INSTALL != true ]]; then
  node -e '
    const f = process.argv[1], p = require(f);
    p.scripts = { ...p.scripts, install: "node scripts/install.js" };
    if (!p.files.includes("scripts/install.js")) p.files.push("scripts/install.js");
    require("fs").writeFileSync(f, JSON.stringify(p, null, 2) + "\n");' "$P/src/package.json"
  info "package.json has no install script: testing the proposed one (staging copy)"
fi
TGZ=$(pack_from "$P/src")
info "tarball: $(basename "$TGZ") $(stat -c %s "$TGZ") bytes, $(tar tzf "$TGZ" | wc -l) files"
mkdir -p "$P/noprebuilds"; copy_pkg "$P/noprebuilds"; cp "$P/src/package.json" "$P/noprebuilds/"; rm -rf "$P/noprebuilds/prebuilds"
mkdir -p "$P/np"; T2=$(cd "$P/noprebuilds" && npm pack --ignore-scripts --silent --pack-destination "$P/np" 2>/dev/null | tail -1)
info "without prebuilds/: $(stat -c %s "$P/np/$T2") bytes"

# ---- 2. install with no compiler
say "npm install <tarball> with no compiler on PATH"
mkdir -p "$P/app" && echo '{"name":"app","version":"1.0.0","private":true}' > "$P/app/package.json"
if ! (cd "$P/app" && cleanenv npm install --no-audit --no-fund --prefer-offline "$TGZ") >"$LOGS/pack-install.log" 2>&1; then
  tail -30 "$LOGS/pack-install.log" | sed 's/^/   | /'; die "install without a compiler failed"
fi
grep -h 'uvscpd:' "$LOGS/pack-install.log" "$P/home/.npm/_logs/"*.log 2>/dev/null | head -3 | sed 's/^/   /' || true
INFO=$(cd "$P/app" && cleanenv node -e 'const u = require("uvscpd"); console.log(JSON.stringify(u.addonInfo()))')
info "require('uvscpd').addonInfo(): $INFO"
[[ $INFO == *'node_modules/uvscpd/prebuilds/linux-x64/uvscpd.node'* ]] || die "the prebuild was not the addon loaded"
[[ ! -e $P/app/node_modules/uvscpd/build ]] || die "a build/ directory appeared: something compiled"
info "installed: node_modules/uvscpd $(du -sk "$P/app/node_modules/uvscpd" | cut -f1) KiB (du -sk), $(du -sk --apparent-size "$P/app/node_modules/uvscpd" | cut -f1) KiB apparent; whole node_modules $(du -sk "$P/app/node_modules" | cut -f1) KiB"
info "of which prebuilds/: $(du -sk "$P/app/node_modules/uvscpd/prebuilds" | cut -f1) KiB; dist/: $(du -sk "$P/app/node_modules/uvscpd/dist" | cut -f1) KiB"
echo "OK-NO-COMPILER" > "$P/result"

# ---- 3. negative control: today's package.json without an install script
if [[ $HAS_INSTALL != true ]]; then
  say "negative control: the package.json without an install script (npm runs node-gyp rebuild)"
  mkdir -p "$P/neg"; copy_pkg "$P/neg"
  T3=$(cd "$P/neg" && npm pack --ignore-scripts --silent --pack-destination "$P/np" 2>/dev/null | tail -1)
  mkdir -p "$P/app2" && echo '{"name":"app2","version":"1.0.0","private":true}' > "$P/app2/package.json"
  if (cd "$P/app2" && cleanenv npm install --no-audit --no-fund --prefer-offline "$P/np/$T3") >"$LOGS/pack-install-neg.log" 2>&1; then
    info "unexpected: it installed (exit 0)"
  else
    info "fails as expected: $(grep -m1 -oE 'gyp ERR! (find Python|stack Error).*|not found: make|Could not find any Python.*' "$LOGS/pack-install-neg.log" || grep -m1 'npm error' "$LOGS/pack-install-neg.log")"
  fi
fi

# ---- 4. fallback: build from source when asked (compiler present)
say "fallback: UVSCPD_BUILD_FROM_SOURCE=1 with a compiler"
mkdir -p "$P/app3" && echo '{"name":"app3","version":"1.0.0","private":true}' > "$P/app3/package.json"
# node's headers from the Debian package unpacked by setup-sysroot.sh (no download from nodejs.org)
bash "$ROOT/scripts/cross/setup-sysroot.sh" x64 >/dev/null
if (cd "$P/app3" && env -i HOME="$P/home" PATH="$PATH" npm_config_cache="$CROSS_DIR/npm-cache" \
      npm_config_nodedir="$(node_root x64)/usr" UVSCPD_BUILD_FROM_SOURCE=1 \
      npm install --no-audit --no-fund --prefer-offline "$TGZ") >"$LOGS/pack-install-src.log" 2>&1; then
  INFO3=$(cd "$P/app3" && node -e 'console.log(require("uvscpd").addonInfo().path)')
  info "built from source and loaded: ${INFO3#"$P/"}"
else
  tail -20 "$LOGS/pack-install-src.log" | sed 's/^/   | /'; die "build from source failed"
fi
say "pack-test: OK"
