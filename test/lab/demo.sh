#!/usr/bin/env bash
# `npm run demo`: the main job on the lab. Installs the lab's packages if needed, starts three
# appliances (mixed generations), then shows rpctl against them:
#   1. validate the inventory and read one appliance's facts
#   2. plan a fourth conferencing node on every appliance (diffs), apply it (graceful reloads)
#   3. change one appliance by hand, then a drift check names exactly that one (exit 2)
#   4. apply again: the hand-made change is corrected
# The lab stays up afterwards; `npm run lab -- down` stops it.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash test/lab/install-deps.sh || exit 1
node dist/test/lab/cli.js up --count 3 --generation mixed || exit 1

# A copy of the lab's inventory that wants one more conferencing node everywhere (git-ignored).
prefix=${RPCTL_LAB_PREFIX:-127.0.2}
lab_inv=inventories/lab.yaml
[ "$prefix" = 127.0.2 ] || lab_inv=inventories/lab-$prefix.yaml
inv=inventories/lab-demo.yaml
awk '{ print } /^      nodes:$/ { print "        - 127.0.3.13" }' "$lab_inv" > "$inv" || exit 1

step() {
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  "$@"
  echo "(exit $?)"
}
rpctl() { node bin/rpctl "$@"; }

step rpctl inventory validate -i "$inv"
step rpctl facts -i "$inv" --limit lab-1
step rpctl plan -i "$inv"
step rpctl apply -i "$inv" --yes
step rpctl plan -i "$inv"
printf '\n\033[1m# someone edits lab-2 by hand: sudo nano /etc/nginx/sites-available/pexapp\033[0m\n'
node dist/test/lab/cli.js exec lab-2 -- sed -i 's/server 127.0.3.13:443/server 127.0.3.66:443/' /etc/nginx/sites-available/pexapp
step rpctl drift -i "$inv"
step rpctl drift -i "$inv" --format prometheus
step rpctl apply -i "$inv" --yes --format json
step rpctl drift history
printf '\nThe lab is still up at %s.1-3 (inventory %s); `npm run lab -- down` stops it.\n' "$prefix" "$inv"
