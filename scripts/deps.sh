#!/usr/bin/env bash
# Installs every build and test dependency of kwire from Debian packages.
# Idempotent: apt-get runs only when a package is missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config python3
  libboost1.81-all-dev
  libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libssl-dev libmbedtls-dev libc-ares-dev
  libidn-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  librdkafka-dev kcat
  libsasl2-dev libsasl2-modules libsasl2-modules-db
  tshark
  openssl stunnel4
  gnuplot-nox
  curl python3-prometheus-client
  protobuf-compiler
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer it up front.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
