#!/bin/bash
# rpctl lab: sourced by boot.sh inside a lab appliance, after provisioning and before its services
# start. Puts the lab's install wizard on PATH (/usr/local/bin/installwizard, an overlay over the
# host's directory, private to the appliance), tells the wizard what the lab knows about the
# appliance, and starts the services the wizard enabled once it has run.
wizard_tools=/run/.lab-tools/wizard
if [ -d "$wizard_tools/bin" ]; then
  mount -t overlay overlay -o "lowerdir=$wizard_tools/bin:/usr/local/bin" /usr/local/bin
fi
mkdir -p /run/rpctl-lab
printf 'NAME=%s\nADDRESS=%s\nGENERATION=%s\nNETWORKED=%s\n' \
  "$NAME" "$ADDRESS" "$GENERATION" "$NETWORKED" > /run/rpctl-lab/appliance.env
# Written by the wizard: the appliance's own services (their rc2.d links say which are enabled).
if [ -s /etc/rpctl-lab/services ]; then SERVICES=$(cat /etc/rpctl-lab/services); fi
# Host keys removed by the wizard (its hostKeysAtBoot setting) are made now, before sshd starts.
for kind in ed25519 ecdsa; do
  [ -e "/etc/ssh/ssh_host_${kind}_key" ] || ssh-keygen -q -t "$kind" -N '' -f "/etc/ssh/ssh_host_${kind}_key"
done
