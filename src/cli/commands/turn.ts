/**
 * `rpctl turn credentials` and `rpctl turn external-ip`: the one-off versions of the turn-credentials
 * and turn-nat recipes. The flags replace the inventory's `turn` values for the selected appliances
 * (the rest of the section stays: realm, exclusive, and the credentials the NAT check allocates
 * with); `--save` writes them back into the inventory for the appliances that reached them.
 *
 * The password never comes from argv: a file, an environment variable, or a prompt (typed twice).
 */
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  externalIpProblem,
  INFINITY_REMINDER,
  type TurnSection,
  turnUsernameProblem,
} from '../../../recipes/turn/schema.js';
import type { Recipe } from '../../engine/contract.js';
import { InputError } from '../../errors.js';
import type { ApplianceConfig, SecretRef } from '../../inventory/model.js';
import { parseSecretRef, valueSecretRef } from '../../inventory/secrets.js';
import type { InventoryOptions } from '../common.js';
import { runFleetCommand } from '../fleet.js';
import type { CommandContext, CommandModule } from '../program.js';
import { addOneOffFlags, ONE_OFF_FORMATS, type RunFlags } from '../run-options.js';
import { saveReached } from '../save.js';

const FORMATS = ONE_OFF_FORMATS;

interface CredentialsFlags extends RunFlags, InventoryOptions {
  username: string;
  passwordFile?: string;
  passwordEnv?: string;
  save?: boolean;
}

interface ExternalIpFlags extends RunFlags, InventoryOptions {
  unset?: boolean;
  save?: boolean;
}

const oneOff = (command: Command) =>
  addOneOffFlags(command).option(
    '--save',
    'write the new value into the inventory for the appliances that reached it',
  );

function recipe(ctx: CommandContext, name: string): Recipe {
  const found = ctx.registry.recipes.find((r) => r.name === name);
  if (!found) throw new InputError(`recipe ${name} is not available in this build`);
  return found;
}

/** The appliance with its `turn` section changed by `edit`. */
function withTurn(appliance: ApplianceConfig, edit: (turn: TurnSection) => TurnSection): ApplianceConfig {
  const turn = (appliance.sections.turn ?? {}) as TurnSection;
  return { ...appliance, sections: { ...appliance.sections, turn: edit(turn) } };
}

interface NewPassword {
  ref: SecretRef;
  /** how --save writes it, relative to the inventory's directory; undefined for a prompt */
  saved?(inventoryDir: string): string;
}

async function newPassword(ctx: CommandContext, flags: CredentialsFlags): Promise<NewPassword> {
  if (flags.passwordFile !== undefined && flags.passwordEnv !== undefined)
    throw new InputError('--password-file and --password-env: give one of them');
  const fromRef = (text: string) => {
    const parsed = parseSecretRef(text);
    if ('problem' in parsed) throw new InputError(`the new TURN password: ${parsed.problem}`);
    return parsed.ref;
  };
  if (flags.passwordFile !== undefined) {
    const path = resolve(ctx.io.cwd, flags.passwordFile);
    return {
      ref: fromRef(`file:${path}`),
      saved: (dir) => `file:${relative(dir, path).startsWith('..') ? path : relative(dir, path)}`,
    };
  }
  if (flags.passwordEnv !== undefined) {
    const text = `env:${flags.passwordEnv}`;
    return { ref: fromRef(text), saved: () => text };
  }
  if (!ctx.io.stdinIsTTY) {
    throw new InputError(
      'no new TURN password: pass --password-file FILE or --password-env NAME (passwords are never taken from the command line)',
    );
  }
  if (flags.save)
    throw new InputError('--save writes a reference to the password: use --password-file or --password-env');
  const first = await ctx.io.prompt('New TURN password: ', { secret: true });
  const again = await ctx.io.prompt('The same again: ', { secret: true });
  if (first !== again) throw new InputError('the two TURN passwords typed differ; nothing was changed');
  return { ref: valueSecretRef(first, 'the password prompt') };
}

async function credentials(ctx: CommandContext, flags: CredentialsFlags): Promise<void> {
  const problem = turnUsernameProblem(flags.username);
  if (problem) throw new InputError(`--username: ${problem}`);
  const turnCredentials = recipe(ctx, 'turn-credentials');
  const password = await newPassword(ctx, flags);
  const result = await runFleetCommand(ctx, {
    mode: 'apply',
    flags,
    formats: FORMATS,
    recipes: [turnCredentials],
    override: (appliance) =>
      withTurn(appliance, (turn) => ({
        ...turn,
        credentials: { ...turn.credentials, username: flags.username, password: password.ref },
      })),
    after(run) {
      // only where a password was set: removing other users (exclusive) changes nothing in Infinity
      const set = run.hosts
        .filter(
          (h) => h.status === 'changed' && h.changes.some((c) => c.change.steps?.some((s) => s.secretFiles)),
        )
        .map((h) => h.name);
      return set.length
        ? `Reminder: ${INFINITY_REMINDER} (username ${flags.username}; changed on ${set.join(', ')}).\n`
        : undefined;
    },
  });
  if (flags.save && password.saved) {
    const saved = password.saved;
    await saveReached(ctx, flags, result, (name, dir) => [
      { op: 'set', path: ['appliances', name, 'turn', 'credentials', 'username'], value: flags.username },
      { op: 'set', path: ['appliances', name, 'turn', 'credentials', 'password'], value: saved(dir) },
    ]);
  }
}

async function externalIp(
  ctx: CommandContext,
  ip: string | undefined,
  flags: ExternalIpFlags,
): Promise<void> {
  if (ip !== undefined && flags.unset)
    throw new InputError('turn external-ip: give an address or --unset, not both');
  if (ip === undefined && !flags.unset)
    throw new InputError('turn external-ip: give the public NAT address (e.g. 203.0.113.10) or --unset');
  const problem = ip === undefined ? undefined : externalIpProblem(ip);
  if (problem) throw new InputError(`turn external-ip: ${problem}`);
  const value = ip ?? null;
  const result = await runFleetCommand(ctx, {
    mode: 'apply',
    flags,
    formats: FORMATS,
    recipes: [recipe(ctx, 'turn-nat')],
    override: (appliance) => withTurn(appliance, (turn) => ({ ...turn, externalIp: value })),
  });
  if (flags.save) {
    await saveReached(ctx, flags, result, (name) => [
      { op: 'set', path: ['appliances', name, 'turn', 'externalIp'], value },
    ]);
  }
}

export const turnCommands: CommandModule = {
  register(program, ctx) {
    const turn = program
      .command('turn')
      .description('one-off TURN changes: credentials (turnadmin) and the NAT external-ip');

    oneOff(turn.command('credentials'))
      .description(
        'set the TURN username and password on the selected appliances (no restart, calls survive)',
      )
      .requiredOption('--username <name>', 'the TURN username (letters, digits and . _ @ + -; no ":")')
      .option('--password-file <file>', 'read the new password from FILE (one trailing newline dropped)')
      .option('--password-env <name>', 'read the new password from the environment variable NAME')
      .addHelpText(
        'after',
        `
The password is never an argument: --password-file, --password-env, or typed twice at a prompt.
The realm is each appliance's realm= (an inventory turn.credentials.realm must match it); an
unchanged password runs nothing. Verified with TURN allocations: the new credentials get a relayed
address, a wrong password gets 401. Then update Pexip Infinity (Call Control > TURN Servers).

Exit codes: 0 done, 1 a host failed or was unreachable, 2 not applied (declined), 3 invalid input.

Examples:
  rpctl turn credentials -i inventories/prod.yaml --limit turn --username pexip --password-file secrets/turn-password
  RP_TURN_PASSWORD=... rpctl turn credentials -i inventories/prod.yaml --username pexip --password-env RP_TURN_PASSWORD --yes --save`,
      )
      .action((flags: CredentialsFlags) => credentials(ctx, flags));

    oneOff(turn.command('external-ip'))
      .description('set or remove the external-ip= (public NAT address) of the TURN server; restarts TURN')
      .argument('[ip]', 'the public NAT address, IPv4 or IPv6')
      .option('--unset', 'remove the external-ip line instead')
      .addHelpText(
        'after',
        `
Restarting TURN cuts every call relayed through the appliance: without --allow-disruptive the
change is shown and deferred (exit 2). Verified with a fresh allocation relayed at the new address.

Exit codes: 0 done, 2 deferred (no --allow-disruptive) or declined, 1 a host failed or was
unreachable, 3 invalid input (e.g. not an IP address; nothing is contacted).

Examples:
  rpctl turn external-ip -i inventories/prod.yaml --limit rp-lon-1 203.0.113.10                      # shows, defers
  rpctl turn external-ip -i inventories/prod.yaml --limit rp-lon-1 203.0.113.10 --allow-disruptive --save
  rpctl turn external-ip -i inventories/prod.yaml --limit rp-lon-1 --unset --allow-disruptive --yes`,
      )
      .action((ip: string | undefined, flags: ExternalIpFlags) => externalIp(ctx, ip, flags));
  },
};
