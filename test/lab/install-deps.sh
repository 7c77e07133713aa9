#!/usr/bin/env bash
# Installs the Debian packages the lab needs (the real appliance software) when they are missing.
# Services are kept from starting on the host while installing: the lab runs its own copies, one
# per appliance, and a host sshd/nginx listening on a wildcard address would take their ports.
set -euo pipefail
packages=(
  openssh-server openssh-client sudo nginx-light coturn fail2ban ifupdown iproute2 netplan.io
  openssl sqlite3 iptables procps psmisc util-linux socat
  python3 # the install wizard of fresh appliances (test/lab/wizard: standard library only)
  prometheus # promtool, to check the Prometheus output of rpctl drift
  libxml2-utils # xmllint, to check the JUnit output of rpctl drift against test/lab/junit.xsd
  tmux jq # reports.test.ts: progress on a real terminal, JSON through a pipe
  pebble dnsmasq-base # a real ACME server for the certificate.acme tests, and the DNS it asks
  chromium # renders rpctl drift --format html headless (a screenshot in test-output/)
  gnupg pass # exec: secrets from a real password store (a throw-away GnuPG home)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "lab: Debian packages present"
  exit 0
fi
echo "lab: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created_policy=no
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# rpctl lab install: do not start services on the host\nexit 101\n' > "$policy"
  chmod 0755 "$policy"
  created_policy=yes
fi
trap '[ "$created_policy" = yes ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "lab: Debian packages installed"
