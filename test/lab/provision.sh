#!/bin/bash
# First boot of a lab appliance, run by boot.sh inside the appliance's namespaces: the pexip user,
# the appliance's files from the seed (written by lab.ts), and service links as on a real appliance.
set -eu
seed=/run/.seed

useradd --create-home --shell /bin/bash --groups sudo,adm pexip
chpasswd < "$seed/secrets/pexip-login"
if [ "$STATE" = fresh ]; then chage -d 0 pexip; fi # expired: the first login forces a change

cp -a "$seed/fs/." /
rm -f /etc/nginx/sites-enabled/default /etc/fail2ban/jail.d/defaults-debian.conf /etc/ssh/ssh_host_rsa_key*
chmod 0600 /etc/ssh/ssh_host_*_key
chown -R pexip:pexip /home/pexip
[ -d /home/pexip/.ssh ] && chmod 0700 /home/pexip/.ssh && chmod 0600 /home/pexip/.ssh/authorized_keys
touch /var/log/auth.log /var/log/nginx/api.access.log
# No syslog daemon in the lab: sshd writes its log where a syslog would put it (fail2ban's sshd
# jail watches it; tests count sshd's connections in it).
echo 'SSHD_OPTS="-E /var/log/auth.log"' > /etc/default/ssh
# Names resolve from /etc/hosts only: a lab appliance never sends a DNS query off the machine.
sed -i 's/^hosts:.*/hosts:          files/' /etc/nsswitch.conf

# coturn runs as turnserver and cannot write its pidfile into root's /run; without one its init
# script cannot stop it (start-stop-daemon waits 30 s, then KILLs). Give it a directory of its own.
sed -i -e 's|^PIDFILE_DIR=/var/run[[:space:]]*$|PIDFILE_DIR=/var/run/turnserver|' \
  -e 's|^PIDFILE=/var/run/\$PROCNAME.pid|PIDFILE=/var/run/turnserver/$PROCNAME.pid|' \
  -e 's|^DAEMON_ARGS="-c /etc/turnserver.conf -o -v"|DAEMON_ARGS="-c /etc/turnserver.conf -o -v --pidfile /var/run/turnserver/turnserver.pid"|' \
  /etc/init.d/coturn

# v4 ran TURN as rfc5766-turn-server; v7 runs the coturn package's own service.
if [ "$GENERATION" = v4 ]; then
  sed -e 's/^DESC=.*/DESC=rfc5766-turn-server/' -e 's/^NAME=.*/NAME=rfc5766-turn-server/' \
    -e 's/Provides:.*coturn/Provides:          rfc5766-turn-server/' /etc/init.d/coturn > /etc/init.d/rfc5766-turn-server
  chmod 0755 /etc/init.d/rfc5766-turn-server
  update-rc.d -f coturn remove >/dev/null
  rm -f /etc/init.d/coturn /etc/default/coturn
  update-rc.d rfc5766-turn-server defaults >/dev/null
  echo TURNSERVER_ENABLED=1 > /etc/default/rfc5766-turn-server
else
  rm -f /etc/network/interfaces
  echo TURNSERVER_ENABLED=1 > /etc/default/coturn
fi
update-rc.d fail2ban disable >/dev/null 2>&1 # disabled by default, as shipped

if [ "$STATE" = installed ]; then
  ln -sfn ../sites-available/pexapp /etc/nginx/sites-enabled/pexapp
  chown root:root /etc/nginx/ssl/pexip.pem
  chmod 0400 /etc/nginx/ssl/pexip.pem
  chmod 0400 /etc/nginx/ssl
  turnadmin -k -a -b /etc/turnuserdb.conf -u "$TURN_USER" -r "$DOMAIN" -p "$(cat "$seed/secrets/turn-password")" >/dev/null 2>&1
  chown root:turnserver /etc/turnuserdb.conf
  chmod 0660 /etc/turnuserdb.conf
fi
rm -rf "$seed/secrets" /var/log/turn_*.log
