/**
 * Restarting an appliance's network from its files, as the second-nic recipe's handler, for both
 * generations. It may cut rpctl's SSH path, so it is flagged `mayCutSshPath` and the engine applies
 * it commit-confirmed; the same command runs again when that rollback restores the previous files.
 *
 * Both first take the managed NICs down as a shutdown would (no IPv4 address, link down), then
 * bring them up from the file as a boot does. `service networking restart` alone is not enough:
 * it deconfigures with the definitions of the file just written, so what only the previous file
 * configured stays, e.g. after a rollback eth1's address and its default route, which then make
 * eth0's own gateway fail ("File exists") and leave eth0 half configured.
 */
import { type Handler, script } from '../../src/engine/contract.js';
import type { Generation } from '../appliance/facts.js';
import { V4_NICS } from './interfaces-file.js';
import { V7_NICS } from './netplan-file.js';

/** Shell that takes NICs down: `words` are constant shell words (names, or `$configured`). */
const takeDown = (words: string) => `for nic in ${words}; do
  [ "$nic" = lo ] && continue
  ip link show dev "$nic" > /dev/null 2>&1 || continue
  ip -4 addr flush dev "$nic"
  ip link set dev "$nic" down
done`;

/**
 * v4 (ifupdown): what ifupdown had configured is forgotten (`ifdown --force` runs the down hooks the
 * file defines and clears ifupdown's state even for NICs it no longer defines), the NICs are taken
 * down, `ifup -a` reads the file, and every `auto` NIC must have come up (ifup -a exits 0 anyway).
 */
const IFUPDOWN_RESTART = script(`configured=$(ifquery --state 2>/dev/null | sed 's/=.*//')
ifdown --all --exclude=lo --force > /dev/null 2>&1
${takeDown(`$configured ${V4_NICS.internal} ${V4_NICS.external}`)}
ifup --all --exclude=lo
missing=""
for nic in $(ifquery --list --exclude=lo); do ifquery --state "$nic" > /dev/null || missing="$missing $nic"; done
if [ -n "$missing" ]; then echo "ifup did not bring up:$missing"; exit 1; fi`);

/** v7 (netplan): nic0 and nic1 taken down, then `netplan apply` (generate, and networkd applies). */
const NETPLAN_RESTART = script(`${takeDown(`${V7_NICS.internal} ${V7_NICS.external}`)}
netplan apply`);

export const NETWORK_RESTART_ID = 'network:restart';

export function networkRestart(generation: Generation, reconnectTo: string | undefined): Handler {
  return {
    id: NETWORK_RESTART_ID,
    command: generation === 'v4' ? IFUPDOWN_RESTART : NETPLAN_RESTART,
    disruptive: true,
    mayCutSshPath: reconnectTo === undefined ? {} : { reconnectTo },
  };
}

/** The validation of a new network file before anything is applied: ifupdown's / netplan's own reading. */
export function networkFileCheck(generation: Generation) {
  return generation === 'v4'
    ? script('ifup --no-act --all --force --interfaces /etc/network/interfaces > /dev/null')
    : script('if command -v netplan > /dev/null 2>&1; then netplan generate; fi');
}
