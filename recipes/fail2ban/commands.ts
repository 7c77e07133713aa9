/**
 * `rpctl fail2ban status|enable|disable|tune`: see what fail2ban does on each appliance, and the
 * one-off versions of the fail2ban recipe. A one-off changes only what its verb and flags say (the
 * appliance's usersBehindNat and force still come from the inventory), with the same config test,
 * restart-only-when-changed, verification and rollback as `apply`.
 */

import type {
  AnyOneOffCommand,
  ChangeCommand,
  OneOffGroup,
  ReportCommand,
  SavedValue,
} from '../../src/engine/contract.js';
import { badFlagValue, InputError } from '../../src/engine/contract.js';
import { fail2banRecipe } from './recipe.js';
import type { Fail2banSection, Tunable } from './schema.js';
import { LIMITS, PERMANENT_BAN, TUNABLES, tunableProblem } from './schema.js';
import { fail2banStatusProbe, renderStatusText, statusRows } from './status.js';

export const fail2banGroup: OneOffGroup = {
  name: 'fail2ban',
  description: 'see, enable, disable or tune fail2ban against PIN brute force (one-off)',
};

type Verb = 'enable' | 'disable' | 'tune';

type OneOffFlags = Partial<Record<Tunable, string>> & { force?: boolean };

interface OneOffInput {
  values: Fail2banSection;
  force: boolean;
}

/** `--maxretry 4` → 4; anything else is an InputError naming the flag (exit 3, nothing contacted). */
export function parseTunableFlag(key: Tunable, text: string): number {
  const value = /^-?[0-9]{1,12}$/.test(text.trim()) ? Number(text) : Number.NaN;
  const problem = tunableProblem(key, value);
  if (problem === PERMANENT_BAN) throw new InputError(`--${key}: ${problem}`);
  if (problem) throw badFlagValue(`--${key}`, problem.replace(/^must be /, ''), text);
  return value;
}

/** What a one-off sets: the verb's enabled state and the tuning flags given. */
export function oneOffValues(verb: Verb, flags: OneOffFlags): Fail2banSection {
  const values: Fail2banSection = verb === 'tune' ? {} : { enabled: verb === 'enable' };
  for (const key of TUNABLES) {
    const text = flags[key];
    if (text !== undefined) values[key] = parseTunableFlag(key, text);
  }
  if (verb === 'tune' && Object.keys(values).length === 0) {
    throw new InputError('fail2ban tune: nothing to tune: pass --maxretry, --bantime and/or --findtime');
  }
  return values;
}

/** The section for this run: the one-off's values, with the inventory's NAT flag and force. */
function runSection({ values, force }: OneOffInput, current: unknown): Fail2banSection {
  const inventory = (current ?? {}) as Fail2banSection;
  return {
    ...values,
    ...(inventory.usersBehindNat === undefined ? {} : { usersBehindNat: inventory.usersBehindNat }),
    ...(force || inventory.force ? { force: true } : {}),
  };
}

/** What --save writes: the values, and force where it enabled a NAT-flagged appliance. */
function savedValues({ values, force }: OneOffInput, current: unknown): SavedValue[] {
  const natForced = force && (current as Fail2banSection | undefined)?.usersBehindNat;
  const saved: Fail2banSection = { ...values, ...(natForced && values.enabled ? { force: true } : {}) };
  return Object.entries(saved).map(([key, value]) => ({ path: ['fail2ban', key], value }));
}

const EXAMPLES: Record<Verb, string> = {
  enable: `  rpctl fail2ban enable -i inventories/prod.yaml --limit proxies --maxretry 10 --yes
  rpctl fail2ban enable -i inventories/prod.yaml --limit rp-partner-1 --force --save   # usersBehindNat: true`,
  disable: '  rpctl fail2ban disable -i inventories/prod.yaml --limit rp-partner-1 --yes --save',
  tune: `  rpctl fail2ban tune -i inventories/prod.yaml --limit 'proxies,!rp-test*' --maxretry 20 --findtime 600
  rpctl fail2ban tune -i inventories/prod.yaml --limit rp1 --bantime 3600 --yes --save`,
};

const DOES: Record<Verb, string> = {
  enable:
    'start fail2ban at boot and run it (update-rc.d fail2ban enable, /etc/init.d/fail2ban restart), tuning it first if asked',
  disable:
    'stop fail2ban and keep it from starting at boot (update-rc.d fail2ban disable, /etc/init.d/fail2ban stop)',
  tune: 'set bantime/findtime ([DEFAULT]) and maxretry ([pexiprp]) in jail.local; a running fail2ban is restarted',
};

const TUNING_OPTIONS = [
  {
    flags: '--maxretry <n>',
    description: `failed-PIN log lines within findtime that ban an address (${LIMITS.maxretry.min}-${LIMITS.maxretry.max})`,
  },
  {
    flags: '--bantime <seconds>',
    description: `seconds an address stays banned (${LIMITS.bantime.min}-${LIMITS.bantime.max})`,
  },
  {
    flags: '--findtime <seconds>',
    description: `seconds of log counted (${LIMITS.findtime.min}-${LIMITS.findtime.max})`,
  },
];

function oneOff(verb: Verb): ChangeCommand<OneOffInput> {
  return {
    kind: 'change',
    path: ['fail2ban', verb],
    summary: DOES[verb],
    options: [
      ...TUNING_OPTIONS,
      ...(verb === 'enable'
        ? [{ flags: '--force', description: 'enable even on appliances flagged usersBehindNat' }]
        : []),
    ],
    help: `
fail2ban's configuration test runs before any restart; a failure restores jail.local. Nothing here
interrupts calls.`,
    examples: EXAMPLES[verb].split('\n').map((line) => line.trim()),
    input: ({ options }) => ({
      values: oneOffValues(verb, options as OneOffFlags),
      force: Boolean(options.force),
    }),
    recipes: () => [fail2banRecipe],
    section: 'fail2ban',
    validateOverride: true,
    override: runSection,
    save: { writes: 'the fail2ban values given', values: savedValues },
  };
}

const status: ReportCommand<void> = {
  kind: 'report',
  path: ['fail2ban', 'status'],
  summary: 'per appliance: enabled, running, failed and banned counts, banned addresses; read-only',
  help: 'Reads `fail2ban-client status pexiprp` in one exec per appliance; changes nothing.',
  examples: [
    'rpctl fail2ban status -i inventories/prod.yaml --limit proxies',
    "rpctl fail2ban status -i inventories/prod.yaml --format json | jq '.hosts[] | select(.currentlyBanned > 0)'",
  ],
  input: () => undefined,
  mode: 'facts',
  recipes: () => [fail2banStatusProbe],
  render(format, result, ctx) {
    const rows = statusRows(result.hosts);
    if (rows.some((r) => 'error' in r)) ctx.exitWith(1);
    return format === 'json' ? `${JSON.stringify({ hosts: rows }, null, 2)}\n` : renderStatusText(rows);
  },
};

export const fail2banCommands: readonly AnyOneOffCommand[] = [
  status,
  oneOff('enable'),
  oneOff('disable'),
  oneOff('tune'),
];
