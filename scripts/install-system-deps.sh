#!/usr/bin/env bash
# Install the Debian packages hpcgen and its tests need; idempotent, quiet when all are present.
# Runs as root (CI, a fresh machine); as another user it only reports what is missing.
set -euo pipefail

PKGS=(
  # the interpreter's venv module and headers (the numba ahead-of-time build and DeepSpeed's op compile against them)
  python3.11 python3.11-venv python3.11-dev
  # reference peers and real htslib test files
  bcftools tabix plink2 htslib-test
  # a real single-node Slurm with accounting
  slurm-wlm slurmdbd mariadb-server munge
  # browser tests of the HTML reports, PDF text checks
  chromium chromium-driver poppler-utils
  # WeasyPrint's libraries and fonts (PDF reports)
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core fonts-liberation2
  # DeepSpeed JIT-builds a small op on first use
  g++ ninja-build
  # the store's fast LZ4 chunk reader (ctypes); without it reads fall back to h5py
  liblz4-1
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing Debian packages (run as root): ${missing[*]}" >&2
  exit 1
fi
echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
