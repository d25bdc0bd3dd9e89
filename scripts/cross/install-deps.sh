#!/usr/bin/env bash
# Host packages for cross-building the addon for ARM and smoke-testing it under qemu-user.
# Debian/Ubuntu x86_64. Safe to run again: installs only what is missing. Needs root (or sudo).
#   g++-aarch64-linux-gnu    linux-arm64 builds
#   g++-arm-linux-gnueabihf  linux-armhf (ARMv7 hard-float) builds
#   qemu-user                runs Debian's ARM node for the smoke test (no binfmt: invoked explicitly)
#   cmake make python3       cmake-js and node-gyp
#   file binutils            architecture and glibc-floor checks (file, objdump -T)
# --no-install-recommends keeps qemu-user-binfmt (and its binfmt_misc registration) out.
set -euo pipefail
exec bash "$(dirname "$0")/../install-deps.sh" \
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user cmake make python3 file binutils
