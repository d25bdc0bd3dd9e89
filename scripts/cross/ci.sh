#!/usr/bin/env bash
# CI stage "ARM cross builds + qemu smoke" (docs/appliance.md). Run from .ci/run after `npm ci`.
#   1. host packages (scripts/cross/install-deps.sh: cross g++, qemu-user, cmake, file, binutils)
#   2. ARM sysroots under .cross/ (cached: a warm run needs no network)
#   3. TypeScript -> dist/ (the smoke test and the cross test suite run from there)
#   4. prebuilds/linux-{x64,arm64,arm}/uvscpd.node (scripts/cross/prebuild.sh, smoke left to 5.)
#   5. node --test dist/test/cross/: cmake-js and node-gyp builds for arm64 and armhf, file(1),
#      glibc floor (objdump -T), qemu smoke in Debian's ARM node, the official Node.js 18 on
#      glibc 2.31, the x64 prebuild flavour, and the floor of prebuilds/
#   6. scripts/cross/pack-test.sh: the packed tarball installs with no compiler on PATH and
#      loads prebuilds/linux-x64; the build-from-source fallback works
# Budget: < 5 min wall-clock warm. Cache .cross/ between CI runs (it is git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - t0 ))s] $*"; }
stamp "host packages"
bash scripts/cross/install-deps.sh
[[ -d node_modules/node-addon-api && -x node_modules/.bin/cmake-js ]] || { stamp "npm ci --ignore-scripts"; npm ci --ignore-scripts --no-audit --no-fund; }
stamp "ARM sysroots (.cross/)"
bash scripts/cross/setup-sysroot.sh arm64 armhf x64
stamp "tsc"
npx tsc -p tsconfig.json
stamp "prebuilds"
bash scripts/cross/prebuild.sh --no-smoke
stamp "cross test suite"
node --test dist/test/cross/
stamp "pack + install with no compiler"
bash scripts/cross/pack-test.sh
stamp "done"
