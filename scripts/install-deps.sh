#!/usr/bin/env bash
# System packages the build and the test suites need, on Debian/Ubuntu.
# Safe to run again; installs only what is missing. Needs root (or sudo).
# With package names as arguments, installs those instead (scripts/cross/install-deps.sh).
#   g++ make python3     node-gyp builds of the addon (python3 also: test listeners)
#   systemd              systemd-analyze verifies the shipped unit
#   cmake                the cmake-js build
#   iproute2 kmod can-utils   vcan set-up and independent CAN observers in tests
#   user-mode-linux util-linux perl-base libc6-dev gcc   test/can-vm.sh, the CAN guest
#                        for kernels without SocketCAN
#   mosquitto mosquitto-clients openssl   the MQTT suites: each test starts its own broker,
#                        checks with mosquitto_sub/mosquitto_pub, makes TLS certificates
set -euo pipefail
want=(g++ make python3 systemd cmake iproute2 kmod can-utils user-mode-linux util-linux perl-base libc6-dev gcc mosquitto mosquitto-clients openssl)
[ $# -gt 0 ] && want=("$@")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all system packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "install-deps: apt-get install ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
