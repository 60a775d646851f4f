#!/usr/bin/env bash
# Install the Debian packages of the dev Slurm cluster (idempotent: nothing to do when they are present).
set -euo pipefail
PKGS=(slurm-wlm slurmdbd mariadb-server munge)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "devcluster: packages present (${PKGS[*]})"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "devcluster: need root to install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
echo "devcluster: installed ${missing[*]}"
