# CMake toolchain file: cross-compile the uvscpd addon for linux-armhf (ARMv7-A hard-float:
# 32-bit Raspberry Pi OS on Pi 2 and later, i.MX6/7, Allwinner H3...; process.arch "arm") on an
# x86_64 Debian/Ubuntu host with the distribution's cross compiler (g++-arm-linux-gnueabihf).
#
#   npx cmake-js compile --out build-cmake -a arm \
#       --CDCMAKE_TOOLCHAIN_FILE=cmake/toolchain-armhf.cmake
#   -> build-cmake/Release/uvscpd.node, where the package's loader looks
#
# Optional settings, each a -D cache variable (cmake-js: --CD<NAME>=<value>) or an
# environment variable of the same name:
#   UVSCPD_CROSS_PREFIX  compiler prefix (default "arm-linux-gnueabihf-"): another vendor's
#                        toolchain, e.g. "/opt/x-tools/armv8-rpi3-linux-gnueabihf/bin/armv8-rpi3-linux-gnueabihf-"
#   UVSCPD_SYSROOT       compile and link against an older target C and C++ library than the
#                        cross compiler's own: a Debian-layout tree with libc6, libc6-dev,
#                        libstdc++6, libstdc++-N-dev, linux-libc-dev (scripts/cross/setup-sysroot.sh
#                        makes one from Debian 11: the result then needs glibc >= 2.31 and
#                        GLIBCXX <= 3.4.28). Without it the binary needs what the cross compiler's
#                        libraries give (Debian 12's: glibc 2.32+, GLIBCXX_3.4.29).
# Yocto and Buildroot generate their own toolchain files; use those there (README.md, "Building for an appliance").
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
# Debian armhf = ARMv7-A, VFPv3-D16, Thumb-2, hard-float (the cross gcc's defaults). ARMv6 boards
# (Raspberry Pi Zero/1) need an armv6 toolchain (UVSCPD_CROSS_PREFIX) instead.
set(_uvscpd_triple arm-linux-gnueabihf)
set(_uvscpd_qemu qemu-arm)

# ---- the rest is common to every target: cmake/toolchain-common.cmake ----
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
