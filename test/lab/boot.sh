#!/bin/bash
# PID 1 of a lab appliance. Gives the appliance private /etc and /var (overlays on the host's),
# private /home and /root, fresh /run and /tmp, provisions it on first boot, then starts its
# services the way sysvinit does (the S links of runlevel 2), limited to the appliance's own.
# TERM: halt. USR1 (from the appliance's `reboot`): exit 77 so the supervisor boots it again.
#   boot.sh APPLIANCE_DIR
set -u
dir=$1
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
set -a; . "$dir/appliance.env"; set +a # NAME ADDRESS GENERATION STATE DOMAIN TURN_USER SERVICES NETWORKED

mount -t tmpfs -o mode=0755,size=64m tmpfs /run
mkdir -p /run/lock /run/.seed /run/.lab-dir /run/.lab-tools && chmod 1777 /run/lock
# The appliance directory and the lab's tools may live under a path this script mounts over
# (/tmp, /var, /home, /root): reach them through /run from here on.
mount --bind "$dir" /run/.lab-dir
cp -a "$here/provision.sh" "$here/bin" /run/.lab-tools/
[ -d "$here/wizard" ] && cp -a "$here/wizard" /run/.lab-tools/
dir=/run/.lab-dir
here=/run/.lab-tools
cp -a "$dir/seed/." /run/.seed/
for d in etc-upper etc-work var-upper var-work home root; do mkdir -p "$dir/$d"; done
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$dir/etc-upper,workdir=$dir/etc-work" /etc
mount -t overlay overlay -o "lowerdir=/var,upperdir=$dir/var-upper,workdir=$dir/var-work" /var
mount --bind "$dir/home" /home
mount --bind "$dir/root" /root
mount -t tmpfs -o mode=1777,size=256m tmpfs /tmp

# The appliance's own reboot/shutdown, and (where the host's network is shared) guards for commands
# that would change interfaces, routes or firewall rules: a private /usr/local/sbin comes first in
# PATH and in sudo's secure_path.
mkdir -p "$dir/sbin"
for cmd in reboot shutdown halt poweroff; do ln -sfn "$here/bin/lab-reboot" "$dir/sbin/$cmd"; done
if [ "$NETWORKED" != yes ]; then
  for cmd in ip ifup ifdown iptables iptables-restore ip6tables ip6tables-restore route netplan; do
    ln -sfn "$here/bin/lab-netguard" "$dir/sbin/$cmd"
  done
else
  # A networked appliance has a network namespace of its own (network.ts): a sysfs that shows its
  # NICs, and `netplan apply` done by the lab (there is no systemd-networkd here).
  mount -t sysfs sysfs /sys
  ln -sfn "$here/bin/lab-netplan" "$dir/sbin/netplan"
fi
mount --bind "$dir/sbin" /usr/local/sbin

if [ ! -e "$dir/provisioned" ]; then
  if ! bash "$here/provision.sh"; then
    echo "lab: $NAME: provisioning failed" >&2
    exit 1
  fi
  touch "$dir/provisioned"
fi
rm -rf /run/.seed
hostname "$(cat /etc/hostname)"
# Like a real boot: the NICs come up from the appliance's own network files.
if [ "$NETWORKED" = yes ] && ! "$here/bin/lab-network-boot"; then echo "lab: $NAME: network configuration failed" >&2; fi
# The lab's install wizard: /usr/local/bin/installwizard and the services it enabled.
# shellcheck source=/dev/null
[ -e "$here/wizard/boot-hook.sh" ] && . "$here/wizard/boot-hook.sh"

running=()
for link in /etc/rc2.d/S*; do
  svc=${link##*/S[0-9][0-9]}
  case " $SERVICES " in *" $svc "*) "$link" start >/dev/null && running+=("$svc") ;; esac
done
echo "lab: $NAME up: ${running[*]}"
date +%s > "$dir/ready"

halt() {
  for ((i = ${#running[@]} - 1; i >= 0; i--)); do "/etc/init.d/${running[i]}" stop >/dev/null 2>&1; done
  # fail2ban may have been started by hand (or by a recipe) after boot
  [ -e /run/fail2ban/fail2ban.sock ] && /etc/init.d/fail2ban stop >/dev/null 2>&1
  rm -f "$dir/ready"
}
trap 'halt; exit 0' TERM INT
trap 'halt; exit 77' USR1
# PID 1 reaps every orphan: bash collects any child it is sent SIGCHLD for while it waits.
while :; do
  sleep 3600 &
  wait $!
done
