/**
 * What the fail2ban recipe and `rpctl fail2ban status` read from an appliance, and how they read
 * it. Pure: fact specs and parsers.
 *
 *   boot         S links of fail2ban in /etc/rc2.d … rc5.d (what `update-rc.d fail2ban enable`
 *                makes; on systemd it also enables the unit). All four: enabled; none: disabled;
 *                some: partial.
 *   running      `service fail2ban status` (applianceFacts)
 *   configTest   fail2ban's own configuration test: `fail2ban-client -t` (0.10 and later), or
 *                `fail2ban-client -d` on older versions, which exits non-zero on a configuration
 *                it cannot load
 *   loaded       the pexiprp jail's bantime/findtime/maxretry as fail2ban loads them, from
 *                `fail2ban-client -d` (every file: jail.conf, jail.local, jail.d/)
 */

import { type FactSpec, HostError, type HostFacts, mergeFactSpecs, sh } from '../../src/engine/contract.js';
import { applianceFactSpec, applianceFacts } from '../appliance/facts.js';
import { JAIL_LOCAL } from '../appliance/paths.js';
import type { Tunable } from './schema.js';

export { JAIL_LOCAL };
export const JAIL = 'pexiprp';
export const RUNLEVELS = [2, 3, 4, 5] as const;

export const STATE = 'fail2ban.state';
const DUMP = 'fail2ban.dump';

export type BootState = 'enabled' | 'disabled' | 'partial';

// `-t` arrived in fail2ban 0.10. dpkg knows the version without starting fail2ban-client's Python
// (a drift check of a fleet pays that start per host); elsewhere ask the client's help text.
const stateCommand = sh`for n in ${RUNLEVELS.map(String)}; do if ls /etc/rc$n.d 2>/dev/null | grep -q '^S[0-9]*fail2ban$'; then echo "rc$n S"; else echo "rc$n -"; fi; done; v=$(dpkg-query -W -f='\${Version}' fail2ban 2>/dev/null); if [ -n "$v" ]; then if dpkg --compare-versions "$v" ge 0.10; then echo 'configtest -t'; else echo 'configtest -d'; fi; elif fail2ban-client -h 2>&1 | grep -q -e --test; then echo 'configtest -t'; else echo 'configtest -d'; fi`;

/** Boot links and the configuration test available: all `rpctl fail2ban status` needs besides the jail's status. */
export const fail2banStateFact = { id: STATE, command: stateCommand };

export const fail2banFactSpec: FactSpec = mergeFactSpecs([
  applianceFactSpec,
  {
    files: [{ path: JAIL_LOCAL }],
    commands: [
      fail2banStateFact,
      // stdout only: its warnings go to stderr
      { id: DUMP, command: sh`fail2ban-client -d 2>/dev/null` },
    ],
  },
]);

export interface Fail2banState {
  boot: BootState;
  running: boolean;
  configTest: '-t' | '-d';
  /** the pexiprp jail's values as fail2ban loads them; undefined when the dump failed */
  loaded: Partial<Record<Tunable, string>> | undefined;
}

/** `['set', 'pexiprp', 'maxretry', 10]` and `['set', 'pexiprp', 'bantime', '300']` lines of the dump. */
export function loadedJailValues(dump: string, jail = JAIL): Partial<Record<Tunable, string>> {
  const values: Partial<Record<Tunable, string>> = {};
  for (const line of dump.split('\n')) {
    const match = /^\['set', '([^']+)', '(bantime|findtime|maxretry)', (?:'([^']*)'|([^\]']*))\]$/.exec(
      line.trim(),
    );
    if (match && match[1] === jail) values[match[2] as Tunable] = (match[3] ?? match[4] ?? '').trim();
  }
  return values;
}

export function bootStateOf(output: string): BootState {
  const on = RUNLEVELS.filter((n) => new RegExp(`^rc${n} S$`, 'm').test(output)).length;
  return on === RUNLEVELS.length ? 'enabled' : on === 0 ? 'disabled' : 'partial';
}

export function fail2banState(facts: HostFacts, host: string): Fail2banState {
  const service = applianceFacts(facts, host).services.fail2ban;
  if (service === 'absent')
    throw new HostError('plan', `${host}: fail2ban is not installed (no /etc/init.d/fail2ban)`);
  const state = facts.command(STATE);
  if (state === undefined) throw new HostError('facts', `${host}: the fail2ban state was not gathered`);
  const dump = facts.command(DUMP);
  return {
    boot: bootStateOf(state.output),
    running: service === 'running',
    configTest: /^configtest -t$/m.test(state.output) ? '-t' : '-d',
    loaded: dump && dump.code === 0 ? loadedJailValues(dump.output) : undefined,
  };
}

export const configTestCommand = (state: Fail2banState) =>
  state.configTest === '-t' ? sh`fail2ban-client -t` : sh`fail2ban-client -d > /dev/null`;
