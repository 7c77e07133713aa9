#!/usr/bin/env bash
# `npm run demo`: the main job on the lab. Installs the lab's packages if needed, starts three
# appliances (mixed generations), then shows rpctl against them: validate the inventory, gather
# facts, plan, apply, and a drift check. Commands that this build does not have yet are skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash test/lab/install-deps.sh || exit 1
node dist/test/lab/cli.js up --count 3 --generation mixed || exit 1
inv=inventories/lab.yaml
has() { node bin/rpctl "$1" --help >/dev/null 2>&1; }
step() {
  printf '\n\033[1m$ rpctl %s\033[0m\n' "$*"
  node bin/rpctl "$@"
  echo "(exit $?)"
}
has inventory && step inventory validate -i "$inv"
has facts && step facts -i "$inv" --limit lab-1
has plan && step plan -i "$inv"
has apply && step apply -i "$inv" --yes
has drift && step drift -i "$inv"
printf '\nThe lab stays up: try `node bin/rpctl --help` against %s; `npm run lab -- down` stops it.\n' "$inv"
