#!/usr/bin/env bash
# Installs the Debian packages the bench's peers need, when they are missing: Ansible (Debian's
# ansible-core), its Mitogen strategy (ansible-mitogen), and the python3 packages that a pyinfra
# checkout runs with (pyinfra itself is not in Debian: see README, Performance).
set -euo pipefail
packages=(
  ansible-core ansible-mitogen
  # pyinfra 2.9's install_requires, as Debian 12 packages them (configparser is in the standard library)
  python3-gevent python3-paramiko python3-click python3-jinja2 python3-dateutil python3-setuptools
  python3-winrm python3-distro
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench: peer packages present"
  exit 0
fi
echo "bench: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bench: peer packages installed"
