/**
 * What the fail2ban recipe and `rpctl fail2ban status` read from an appliance, and how they read
 * it. Pure: fact specs and parsers.
 *
 *   boot         S links of fail2ban in /etc/rc2.d … rc5.d (what `update-rc.d fail2ban enable`
 *                makes; on systemd it also enables the unit). All four: enabled; none: disabled;
 *                some: partial.
 *   running      the server's PID file, /proc/PID/cmdline and control socket (recipes/fail2ban/running.ts):
 *                no Python (`service fail2ban status` runs `fail2ban-client ping`)
 *   configTest   fail2ban's own configuration test: `fail2ban-client -t` (0.10 and later), or
 *                `fail2ban-client -d` on older versions, which exits non-zero on a configuration
 *                it cannot load
 *   loaded       the pexiprp jail's bantime/findtime/maxretry as fail2ban loads them, computed here
 *                (recipes/fail2ban/jail-values.ts) from jail.conf, jail.d/*.conf, jail.local and
 *                jail.d/*.local read in the facts exec: no Python on the appliance during drift
 *                (`fail2ban-client -d` cost a Python start per host). `fail2ban-client -t` runs only
 *                inside apply, as the validation of a change.
 */

import { type FactSpec, HostError, type HostFacts, mergeFactSpecs, sh } from '../../src/engine/contract.js';
import { applianceFactSpec, applianceFacts } from '../appliance/facts.js';
import { JAIL_LOCAL } from '../appliance/paths.js';
import { effectiveJailValues, JailConfigError, type JailFile } from './jail-values.js';
import { FAIL2BAN_RUNNING, fail2banRunningFact, fail2banRunningOf } from './running.js';
import type { Tunable } from './schema.js';

export { JAIL_LOCAL };
export const JAIL = 'pexiprp';
export const RUNLEVELS = [2, 3, 4, 5] as const;

export const STATE = 'fail2ban.state';
export const JAIL_FILES = 'fail2ban.jail-files';

export type BootState = 'enabled' | 'disabled' | 'partial';

// Boot links by shell globbing, no process per runlevel: S, digits, fail2ban (what update-rc.d
// makes). `-t` arrived in fail2ban 0.10. dpkg's status file knows the version without starting
// fail2ban-client's Python (a drift check of a fleet pays that start per host); awk reads it for
// a fifth of dpkg-query's cost; elsewhere ask the client's help text.
const bootLinks = sh`for n in ${RUNLEVELS.map(String)}; do s=-; for f in /etc/rc$n.d/S*fail2ban; do b=\${f##*/S}; b=\${b%fail2ban}; case "$b" in *[!0-9]*) ;; *) if [ -e "$f" ]; then s=S; fi ;; esac; done; echo "rc$n $s"; done`;
const configTestKind = sh`v=$(awk '/^Package: fail2ban$/ { p = 1; next } p && /^Version: / { print $2; exit } /^$/ { p = 0 }' /var/lib/dpkg/status 2>/dev/null); if [ -n "$v" ]; then if dpkg --compare-versions "$v" ge 0.10; then echo 'configtest -t'; else echo 'configtest -d'; fi; elif fail2ban-client -h 2>&1 | grep -q -e --test; then echo 'configtest -t'; else echo 'configtest -d'; fi`;
const stateCommand = sh`${bootLinks}; ${configTestKind}`;

/** Boot links and the configuration test available: all `rpctl fail2ban status` needs besides the jail's status. */
export const fail2banStateFact = { id: STATE, command: stateCommand };

export const fail2banFactSpec: FactSpec = mergeFactSpecs([
  applianceFactSpec,
  {
    files: [{ path: JAIL_LOCAL }],
    commands: [
      fail2banStateFact,
      fail2banRunningFact,
      // One record per file, its bytes base64-encoded on one line; a glob that matches nothing is skipped.
      {
        id: JAIL_FILES,
        command: sh`for f in /etc/fail2ban/jail.conf /etc/fail2ban/jail.d/*.conf /etc/fail2ban/jail.local /etc/fail2ban/jail.d/*.local; do if [ -f "$f" ]; then printf '@jail %s\n' "$f"; base64 -w0 < "$f"; echo; fi; done`,
      },
    ],
  },
]);

export interface Fail2banState {
  boot: BootState;
  running: boolean;
  configTest: '-t' | '-d';
  /** the pexiprp jail's values as fail2ban loads them; undefined when its files do not load */
  loaded: Partial<Record<Tunable, string>> | undefined;
  /** why the jail files do not load (`/etc/fail2ban/jail.d/x.local:3: ...`) */
  loadError?: string;
}

/** The files the jail-files fact printed: `@jail PATH` then the file's bytes in base64. */
export function jailFilesOf(output: string): JailFile[] {
  const files: JailFile[] = [];
  const lines = output.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const header = /^@jail (\/\S+)$/.exec(lines[i]!);
    if (header)
      files.push({ path: header[1]!, text: Buffer.from(lines[++i] ?? '', 'base64').toString('utf8') });
  }
  return files;
}

/** The pexiprp jail's values from the jail files, or why fail2ban would not load them. */
function loadedValues(output: string): Pick<Fail2banState, 'loaded' | 'loadError'> {
  try {
    return { loaded: effectiveJailValues(jailFilesOf(output), JAIL) };
  } catch (err) {
    if (err instanceof JailConfigError) return { loaded: undefined, loadError: err.message };
    throw err;
  }
}

export function bootStateOf(output: string): BootState {
  const on = RUNLEVELS.filter((n) => new RegExp(`^rc${n} S$`, 'm').test(output)).length;
  return on === RUNLEVELS.length ? 'enabled' : on === 0 ? 'disabled' : 'partial';
}

/** Whether fail2ban runs; throws when it is not installed or was not read. */
export function fail2banRunning(facts: HostFacts, host: string): boolean {
  const fact = facts.command(FAIL2BAN_RUNNING);
  if (fact === undefined) throw new HostError('facts', `${host}: whether fail2ban runs was not read`);
  const read = fail2banRunningOf(fact.output);
  if (!read.installed)
    throw new HostError('plan', `${host}: fail2ban is not installed (no /etc/init.d/fail2ban)`);
  return read.running;
}

export function fail2banState(facts: HostFacts, host: string): Fail2banState {
  applianceFacts(facts, host); // an appliance, of a known generation, before anything else
  const running = fail2banRunning(facts, host);
  const state = facts.command(STATE);
  if (state === undefined) throw new HostError('facts', `${host}: the fail2ban state was not gathered`);
  const jailFiles = facts.command(JAIL_FILES);
  if (jailFiles === undefined) throw new HostError('facts', `${host}: the fail2ban jail files were not read`);
  return {
    boot: bootStateOf(state.output),
    running,
    configTest: /^configtest -t$/m.test(state.output) ? '-t' : '-d',
    ...loadedValues(jailFiles.output),
  };
}

export const configTestCommand = (state: Fail2banState) =>
  state.configTest === '-t' ? sh`fail2ban-client -t` : sh`fail2ban-client -d > /dev/null`;
