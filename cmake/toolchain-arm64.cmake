# CMake toolchain file: cross-compile the uvscpd addon for linux-arm64 (aarch64) on an
# x86_64 Debian/Ubuntu host with the distribution's cross compiler (g++-aarch64-linux-gnu).
#
#   npx cmake-js compile --out build-cmake -a arm64 \
#       --CDCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64.cmake
#   -> build-cmake/Release/uvscpd.node, where the package's loader looks
#
# Optional settings, each a -D cache variable (cmake-js: --CD<NAME>=<value>) or an
# environment variable of the same name:
#   UVSCPD_CROSS_PREFIX  compiler prefix (default "aarch64-linux-gnu-"): another vendor's
#                        toolchain, e.g. "/opt/x-tools/aarch64-rpi4-linux-gnu/bin/aarch64-rpi4-linux-gnu-"
#   UVSCPD_SYSROOT       compile and link against an older target C and C++ library than the
#                        cross compiler's own: a Debian-layout tree with libc6, libc6-dev,
#                        libstdc++6, libstdc++-N-dev, linux-libc-dev (scripts/cross/setup-sysroot.sh
#                        makes one from Debian 11: the result then needs glibc >= 2.31 and
#                        GLIBCXX <= 3.4.28). Without it the binary needs what the cross compiler's
#                        libraries give (Debian 12's: glibc 2.32+, GLIBCXX_3.4.29).
# Yocto and Buildroot generate their own toolchain files; use those there (README.md, "Building for an appliance").
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(_uvscpd_triple aarch64-linux-gnu)
set(_uvscpd_qemu qemu-aarch64)

# ---- the rest is common to every target: cmake/toolchain-common.cmake ----
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
