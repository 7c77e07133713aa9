#!/usr/bin/env bash
# Installs the Debian packages the bench's peers need: Ansible (Debian's ansible-core), its Mitogen
# strategy (ansible-mitogen), and the python3 packages a pyinfra checkout runs with (pyinfra itself
# is not in Debian: see README, Performance). apt-get skips what is installed already.
set -euo pipefail
packages=(
  ansible-core ansible-mitogen
  # pyinfra 2.9's install_requires, as Debian 12 packages them (configparser is in the standard library)
  python3-gevent python3-paramiko python3-click python3-jinja2 python3-dateutil python3-setuptools
  python3-winrm python3-distro
)
export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }
# a fresh machine has no package lists yet
install || { apt-get update -qq && install; }
echo "bench: ${packages[*]} installed"
