#!/usr/bin/env bash
# Install every Debian package crossriver needs to build, test and run. Idempotent: does
# nothing when all are present; otherwise apt-get update, then install (as root, or via sudo).
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config clang-format
  libgdal-dev gdal-bin libproj-dev proj-bin libgeos-dev
  libsqlite3-dev sqlite3 libspatialite-dev libsqlite3-mod-spatialite
  libjansson-dev libssl-dev zlib1g-dev libmicrohttpd-dev libcmocka-dev
  python3-prometheus-client chromium libxml2-utils libzip-dev
  libfreetype-dev fonts-noto-cjk nginx-light wrk
)
# Node.js and npm run the independent checks (gcoord now; vector-tile decoders later).
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
