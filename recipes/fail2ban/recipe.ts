/**
 * fail2ban: the appliance's defence against PIN brute force (the guide's "Enabling fail2ban").
 *
 *   fail2ban:
 *     enabled: true
 *     maxretry: 4
 *
 * On an appliance as shipped (disabled, maxretry 10) the plan is two changes:
 *
 *   fail2ban: enable fail2ban (update-rc.d fail2ban enable, /etc/init.d/fail2ban restart)
 *   fail2ban: jail.local: [pexiprp] maxretry 10 -> 4
 *     write /etc/fail2ban/jail.local (owner and mode kept), validate `fail2ban-client -t`, then
 *     the handlers `update-rc.d fail2ban enable` and `/etc/init.d/fail2ban restart`, once
 *
 * Rules:
 * - Only `bantime`/`findtime` in [DEFAULT] and `maxretry` in [pexiprp] change, as the guide says;
 *   every other byte of jail.local stays (see recipes/fail2ban/jail-local.ts).
 * - fail2ban's own configuration test runs after a write of jail.local and before any restart; a
 *   failure puts the file back and restarts nothing. Only then: it starts Python, and a start
 *   without a change of the file fails on its own if the configuration does not load.
 * - Restart only when something changed and fail2ban is to run: tuning a stopped fail2ban writes
 *   the file for its next start.
 * - Enabled means both: S links at boot and running. Each half is converged on its own: enabled at
 *   boot but stopped is started; running but disabled at boot gets `update-rc.d fail2ban enable`
 *   (and no restart); the reverse for disabled.
 * - A value fail2ban would not take from where rpctl writes it (an override in [pexiprp] or in
 *   jail.d/) is a plan error: writing jail.local would change nothing fail2ban does.
 * - usersBehindNat: enabling is refused unless forced (recipes/fail2ban/schema.ts).
 * - Nothing here interrupts calls: fail2ban only watches logs and bans addresses.
 */
import {
  type Change,
  type Check,
  defineRecipe,
  type Handler,
  HostError,
  type HostFacts,
  type PlanContext,
  type PlanResult,
  type ServiceStatus,
  sh,
} from '../../src/engine/contract.js';
import {
  configTestCommand,
  type Fail2banState,
  fail2banFactSpec,
  fail2banRunning,
  fail2banState,
  JAIL,
  JAIL_LOCAL,
} from './facts.js';
import { editJailLocal, type JailChange, JailLocalError, jailValue, parseJailLocal } from './jail-local.js';
import { type Fail2banSection, fail2banInventorySection, TUNABLES, type Tunable } from './schema.js';

export { fail2banInventorySection };

export type Fail2banDesired = Fail2banSection;

/** Where the guide keeps each value. */
export const SECTION_OF: Record<Tunable, string> = {
  bantime: 'DEFAULT',
  findtime: 'DEFAULT',
  maxretry: JAIL,
};

const handler = (id: string, command: ReturnType<typeof sh>): Handler => ({ id, command, disruptive: false });
export const HANDLERS = {
  enableAtBoot: handler('fail2ban:enable-at-boot', sh`update-rc.d fail2ban enable`),
  restart: handler('fail2ban:restart', sh`/etc/init.d/fail2ban restart`),
  disableAtBoot: handler('fail2ban:disable-at-boot', sh`update-rc.d fail2ban disable`),
  stop: handler('fail2ban:stop', sh`/etc/init.d/fail2ban stop`),
} as const;

const sameValue = (a: string, b: string) =>
  a === b || (/^\d+$/.test(a) && /^\d+$/.test(b) && Number(a) === Number(b));

/** Refuse values fail2ban would not take from where rpctl writes them. */
function checkWhereValuesLive(
  desired: Fail2banDesired,
  text: string,
  state: Fail2banState,
  host: string,
): void {
  const sections = parseJailLocal(text);
  for (const key of TUNABLES) {
    if (desired[key] === undefined) continue;
    const own = key === 'maxretry' ? undefined : jailValue(sections, JAIL, key);
    if (own !== undefined) {
      throw new HostError(
        'plan',
        `${host}: ${JAIL_LOCAL}: [${JAIL}] sets its own ${key} = ${own}, which wins over [DEFAULT] where the Pexip guide (and rpctl) sets it; remove that line from [${JAIL}] first`,
      );
    }
    const written = jailValue(sections, JAIL, key) ?? jailValue(sections, 'DEFAULT', key);
    const loaded = state.loaded?.[key];
    if (written !== undefined && loaded !== undefined && !sameValue(written, loaded)) {
      throw new HostError(
        'plan',
        `${host}: fail2ban loads ${key} = ${loaded} for the ${JAIL} jail, not the ${written} of ${JAIL_LOCAL}: a file loaded after it (/etc/fail2ban/jail.d/) overrides it, and rpctl manages jail.local only`,
      );
    }
  }
}

function describeEdit(changes: readonly JailChange[]): string {
  return changes
    .map((c) =>
      c.from === undefined
        ? `add ${c.key} = ${c.to} to [${c.section}]`
        : `[${c.section}] ${c.key} ${c.from} -> ${c.to}`,
    )
    .join(', ');
}

/** No configuration test here: fail2ban-client -t (a Python start) runs only when jail.local changes. */
function enabledStateChange(enabled: boolean, state: Fail2banState): Change | undefined {
  const partial = state.boot === 'partial' ? ' (only some runlevels start it)' : '';
  if (enabled) {
    const atBoot = state.boot !== 'enabled';
    const start = !state.running;
    if (!atBoot && !start) return undefined;
    const summary =
      atBoot && start
        ? `enable fail2ban (update-rc.d fail2ban enable, /etc/init.d/fail2ban restart)${partial}`
        : start
          ? 'start fail2ban: enabled at boot but not running'
          : `enable fail2ban at boot: running, but not started at boot${partial}`;
    const notify = [...(atBoot ? [HANDLERS.enableAtBoot] : []), ...(start ? [HANDLERS.restart] : [])];
    return { summary, notify };
  }
  const atBoot = state.boot !== 'disabled';
  const stop = state.running;
  if (!atBoot && !stop) return undefined;
  const summary =
    atBoot && stop
      ? `disable fail2ban (update-rc.d fail2ban disable, /etc/init.d/fail2ban stop)${partial}`
      : stop
        ? 'stop fail2ban: disabled at boot but running'
        : `disable fail2ban at boot: stopped, but started at boot${partial}`;
  return { summary, notify: [...(atBoot ? [HANDLERS.disableAtBoot] : []), ...(stop ? [HANDLERS.stop] : [])] };
}

function plan(desired: Fail2banDesired, facts: HostFacts, ctx: PlanContext): PlanResult {
  const state = fail2banState(facts, ctx.host);
  const warnings: string[] = [];
  if (desired.usersBehindNat && (desired.enabled ?? state.running)) {
    warnings.push(
      'fail2ban runs on an appliance flagged usersBehindNat: users behind that NAT can ban each other out without a wrong PIN',
    );
  }
  if (state.loaded === undefined) {
    warnings.push(
      `fail2ban would not load its jail files (${state.loadError}): its configuration test will refuse any change`,
    );
  }
  const changes: Change[] = [];
  // Before the tuning change, so the guide's order holds: update-rc.d, then the restart.
  if (desired.enabled !== undefined) {
    const change = enabledStateChange(desired.enabled, state);
    if (change) changes.push(change);
  }

  const settings = TUNABLES.flatMap((key) => {
    const value = desired[key];
    return value === undefined ? [] : [{ section: SECTION_OF[key], key, value: String(value) }];
  });
  if (settings.length === 0) return { changes, warnings };
  const file = facts.file(JAIL_LOCAL);
  if (!file.exists) {
    throw new HostError(
      'plan',
      `${ctx.host}: ${JAIL_LOCAL} does not exist; rpctl tunes the appliance's file and does not create it`,
    );
  }
  // latin1 maps each byte to one character and back, so bytes outside the edit survive exactly.
  const text = file.content.toString('latin1');
  checkWhereValuesLive(desired, text, state, ctx.host);
  let edit: ReturnType<typeof editJailLocal>;
  try {
    edit = editJailLocal(text, settings);
  } catch (err) {
    if (err instanceof JailLocalError)
      throw new HostError('plan', `${ctx.host}: ${JAIL_LOCAL} ${err.message}`);
    throw err;
  }
  if (edit.text !== text) {
    const runs = desired.enabled ?? state.running;
    changes.push({
      summary: `jail.local: ${describeEdit(edit.changes)}${runs ? '' : ' (fail2ban is not running: read at its next start)'}`,
      writes: [{ path: JAIL_LOCAL, content: Buffer.from(edit.text, 'latin1') }],
      validate: [configTestCommand(state)],
      notify: runs ? [HANDLERS.restart] : [],
    });
  }
  return { changes, warnings };
}

function verify(desired: Fail2banDesired, after: HostFacts, ctx: PlanContext): Check[] {
  const state = fail2banState(after, ctx.host);
  const checks: Check[] = [];
  if (desired.enabled !== undefined) {
    const ok = desired.enabled
      ? state.running && state.boot === 'enabled'
      : !state.running && state.boot === 'disabled';
    checks.push({
      kind: 'assert',
      ok,
      message: `fail2ban ${state.running ? 'runs' : 'is stopped'} and is ${state.boot === 'partial' ? 'partly enabled' : state.boot} at boot${ok ? '' : ` (wanted ${desired.enabled ? 'running and enabled' : 'stopped and disabled'})`}`,
    });
  }
  for (const key of TUNABLES) {
    const value = desired[key];
    if (value === undefined) continue;
    const loaded = state.loaded?.[key];
    const ok = loaded !== undefined && sameValue(loaded, String(value));
    checks.push({
      kind: 'assert',
      ok,
      message: ok
        ? `fail2ban loads ${key} = ${value} for the ${JAIL} jail`
        : `fail2ban loads ${key} = ${loaded ?? `(nothing: ${state.loadError})`} for the ${JAIL} jail, wanted ${value}`,
    });
  }
  return checks;
}

/** An enabled fail2ban must run: every report shows whether it does (`rpctl_service_up`). */
function services(desired: Fail2banDesired, facts: HostFacts): ServiceStatus[] {
  return desired.enabled === true ? [{ service: 'fail2ban', running: fail2banRunning(facts, 'host') }] : [];
}

export const fail2banRecipe = defineRecipe({
  name: 'fail2ban',
  description:
    'fail2ban against PIN brute force: enabled or not, bantime, findtime, maxretry (no call is interrupted)',
  section: fail2banInventorySection,
  desired: (section): Fail2banDesired => section,
  facts: fail2banFactSpec,
  plan,
  verify,
  services,
});
