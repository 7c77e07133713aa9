/**
 * `rpctl fail2ban status|enable|disable|tune`: see what fail2ban does on each appliance, and the
 * one-off versions of the fail2ban recipe. A one-off changes only what its verb and flags say (the
 * appliance's usersBehindNat and force still come from the inventory), with the same config test,
 * restart-only-when-changed, verification and rollback as `apply`. `--save` writes the values into
 * the inventory so the next drift check stays clean.
 */
import type { Command } from 'commander';
import { fail2banInventorySection, fail2banRecipe } from '../../../recipes/fail2ban/recipe.js';
import type { Fail2banSection, Tunable } from '../../../recipes/fail2ban/schema.js';
import { LIMITS, TUNABLES, tunableProblem } from '../../../recipes/fail2ban/schema.js';
import { fail2banStatusProbe, renderStatusText, statusRows } from '../../../recipes/fail2ban/status.js';
import type { FleetResult } from '../../engine/run.js';
import { ExitCode, InputError } from '../../errors.js';
import type { ApplianceConfig } from '../../inventory/model.js';
import { type InventoryEdit, updateInventoryFile } from '../../inventory/save.js';
import { withSection } from '../../inventory/section.js';
import { addInventoryOptions, type Selection } from '../common.js';
import { runFleetCommand } from '../fleet.js';
import type { CommandContext, CommandModule } from '../program.js';
import { addApplyFlags, addConnectionFlags, addOutputFlags, type RunFlags } from '../run-options.js';
import { reachedHosts } from '../save.js';

type Verb = 'enable' | 'disable' | 'tune';

interface OneOffFlags extends RunFlags {
  limit?: string;
  inventory?: string;
  maxretry?: string;
  bantime?: string;
  findtime?: string;
  force?: boolean;
  save?: boolean;
}

/** `--maxretry 4` → 4; anything else is an InputError naming the flag (exit 3, nothing contacted). */
export function parseTunableFlag(key: Tunable, text: string): number {
  const value = /^-?[0-9]{1,12}$/.test(text.trim()) ? Number(text) : Number.NaN;
  const problem = tunableProblem(key, value);
  if (problem) throw new InputError(`--${key}: ${problem}, got ${JSON.stringify(text)}`);
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

/** The appliance's section for this run: the one-off's values, with the inventory's NAT flag and force. */
function overrideSection(
  appliance: ApplianceConfig,
  values: Fail2banSection,
  force: boolean,
): ApplianceConfig {
  const inventory = (appliance.sections.fail2ban ?? {}) as Fail2banSection;
  const section: Fail2banSection = {
    ...values,
    ...(inventory.usersBehindNat === undefined ? {} : { usersBehindNat: inventory.usersBehindNat }),
    ...(force || inventory.force ? { force: true } : {}),
  };
  return withSection(appliance, fail2banInventorySection, section);
}

async function saveValues(
  result: FleetResult,
  selection: Selection,
  values: Fail2banSection,
  force: boolean,
): Promise<string> {
  const done = reachedHosts(result);
  const edits: InventoryEdit[] = done.flatMap((host) => {
    const appliance = selection.appliances.find((a) => a.name === host.name);
    const natForced = force && (appliance?.sections.fail2ban as Fail2banSection | undefined)?.usersBehindNat;
    const saved: Fail2banSection = { ...values, ...(natForced && values.enabled ? { force: true } : {}) };
    return Object.entries(saved).map(([key, value]) => ({
      op: 'set' as const,
      path: ['appliances', host.name, 'fail2ban', key],
      value,
    }));
  });
  if (edits.length === 0) return 'nothing saved: no appliance was changed or in sync\n';
  await updateInventoryFile(selection.inventory.file, edits);
  const keys = Object.keys(values).map((k) => `fail2ban.${k}`);
  return `saved ${keys.join(', ')} of ${done.map((h) => h.name).join(', ')} in ${selection.inventory.file}\n`;
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

function oneOff(parent: Command, ctx: CommandContext, verb: Verb): void {
  const command = parent.command(verb).description(DOES[verb]);
  addOutputFlags(addConnectionFlags(addApplyFlags(addInventoryOptions(command))), ['text', 'json']);
  command
    .option(
      '--maxretry <n>',
      `failed-PIN log lines within findtime that ban an address (${LIMITS.maxretry.min}-${LIMITS.maxretry.max})`,
    )
    .option(
      '--bantime <seconds>',
      `seconds an address stays banned (${LIMITS.bantime.min}-${LIMITS.bantime.max})`,
    )
    .option('--findtime <seconds>', `seconds of log counted (${LIMITS.findtime.min}-${LIMITS.findtime.max})`)
    .option('--save', 'write the values into the inventory (appliances.NAME.fail2ban; comments kept)');
  if (verb === 'enable') command.option('--force', 'enable even on appliances flagged usersBehindNat');
  command.addHelpText(
    'after',
    `
--limit is required: name the appliances to change (a group, names, globs; '*' for all).
fail2ban's configuration test runs before any restart; a failure restores jail.local. Nothing here
interrupts calls.

Exit codes: 0 done, 1 a host failed (its file restored), 3 invalid input (nothing contacted).

Examples:
${EXAMPLES[verb]}`,
  );
  command.action(async (flags: OneOffFlags) => {
    const values = oneOffValues(verb, flags);
    if (!flags.limit) {
      throw new InputError(
        `fail2ban ${verb}: --limit is required: name the appliances to change ('*' for all)`,
      );
    }
    const force = Boolean(flags.force);
    await runFleetCommand(ctx, {
      mode: 'apply',
      flags,
      formats: ['text', 'json'],
      recipes: [fail2banRecipe],
      override: (appliance) => overrideSection(appliance, values, force),
      after: (result, selection) =>
        flags.save && result.confirmed ? saveValues(result, selection, values, force) : undefined,
    });
  });
}

export const fail2banCommands: CommandModule = {
  register(program, ctx) {
    const fail2ban = program
      .command('fail2ban')
      .description('see, enable, disable or tune fail2ban against PIN brute force (one-off)');
    addOutputFlags(addConnectionFlags(addInventoryOptions(fail2ban.command('status'))), ['text', 'json'])
      .description('per appliance: enabled, running, failed and banned counts, banned addresses; read-only')
      .addHelpText(
        'after',
        `
Reads \`fail2ban-client status pexiprp\` in one exec per appliance; changes nothing.
Exit codes: 0 read, 1 an appliance failed or was unreachable, 3 invalid input.

Examples:
  rpctl fail2ban status -i inventories/prod.yaml --limit proxies
  rpctl fail2ban status -i inventories/prod.yaml --format json | jq '.hosts[] | select(.currentlyBanned > 0)'`,
      )
      .action(async (flags: RunFlags) => {
        await runFleetCommand(ctx, {
          mode: 'facts',
          flags,
          formats: ['text', 'json'],
          recipes: [fail2banStatusProbe],
          render: (format, result) => {
            const rows = statusRows(result.hosts);
            if (rows.some((r) => 'error' in r)) ctx.exitWith(ExitCode.failed);
            return format === 'json'
              ? `${JSON.stringify({ hosts: rows }, null, 2)}\n`
              : renderStatusText(rows);
          },
        });
      });
    for (const verb of ['enable', 'disable', 'tune'] as const) oneOff(fail2ban, ctx, verb);
  },
};
