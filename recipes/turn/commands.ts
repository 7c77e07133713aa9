/**
 * `rpctl turn credentials` and `rpctl turn external-ip`: the one-off versions of the turn-credentials
 * and turn-nat recipes. The flags replace the inventory's `turn` values for the selected appliances
 * (the rest of the section stays: realm, exclusive, and the credentials the NAT check allocates
 * with). The password never comes from argv: a file, an environment variable, or a prompt (typed
 * twice).
 */

import type {
  AnyOneOffCommand,
  ChangeCommand,
  OneOffGroup,
  OneOffInputContext,
  SecretRef,
} from '../../src/engine/contract.js';
import { InputError } from '../../src/engine/contract.js';
import { turnCredentialsRecipe } from './credentials.js';
import { turnNatRecipe } from './nat.js';
import { externalIpProblem, INFINITY_REMINDER, type TurnSection, turnUsernameProblem } from './schema.js';

export const turnGroup: OneOffGroup = {
  name: 'turn',
  description: 'one-off TURN changes: credentials (turnadmin) and the NAT external-ip',
};

interface NewCredentials {
  username: string;
  password: SecretRef;
  /** how --save writes the password reference; undefined for a typed one */
  saved?: string;
}

type Options = Readonly<Record<string, unknown>>;

async function newPassword(
  options: Options,
  save: boolean,
  ctx: OneOffInputContext,
): Promise<{ ref: SecretRef; saved?: string }> {
  const file = options.passwordFile as string | undefined;
  const env = options.passwordEnv as string | undefined;
  if (file !== undefined && env !== undefined)
    throw new InputError('--password-file and --password-env: give one of them');
  const what = 'the new TURN password';
  if (file !== undefined) {
    const path = ctx.file('--password-file', file);
    return { ref: ctx.secretRef(`file:${path}`, what), saved: `file:${ctx.savedPath(path)}` };
  }
  if (env !== undefined) return { ref: ctx.secretRef(`env:${env}`, what), saved: `env:${env}` };
  if (!ctx.interactive) {
    throw new InputError(
      'no new TURN password: pass --password-file FILE or --password-env NAME (passwords are never taken from the command line)',
    );
  }
  if (save)
    throw new InputError('--save writes a reference to the password: use --password-file or --password-env');
  const first = await ctx.prompt('New TURN password: ', { secret: true });
  const again = await ctx.prompt('The same again: ', { secret: true });
  if (first !== again) throw new InputError('the two TURN passwords typed differ; nothing was changed');
  return { ref: ctx.typedSecret(first, 'the password prompt') };
}

const section = (current: unknown) => (current ?? {}) as TurnSection;

export const turnCredentials: ChangeCommand<NewCredentials> = {
  kind: 'change',
  path: ['turn', 'credentials'],
  summary: 'set the TURN username and password on the selected appliances (no restart, calls survive)',
  options: [
    { flags: '--username <name>', description: 'the TURN username (letters, digits and . _ @ + -; no ":")' },
    {
      flags: '--password-file <file>',
      description: 'read the new password from FILE (one trailing newline dropped)',
    },
    {
      flags: '--password-env <name>',
      description: 'read the new password from the environment variable NAME',
    },
  ],
  help: `
The password is never an argument: --password-file, --password-env, or typed twice at a prompt.
The realm is each appliance's realm= (an inventory turn.credentials.realm must match it); an
unchanged password runs nothing. Verified with TURN allocations: the new credentials get a relayed
address, a wrong password gets 401. Then update Pexip Infinity (Call Control > TURN Servers).`,
  examples: [
    'rpctl turn credentials -i inventories/prod.yaml --limit turn --username pexip --password-file secrets/turn-password',
    'RP_TURN_PASSWORD=... rpctl turn credentials -i inventories/prod.yaml --limit turn --username pexip --password-env RP_TURN_PASSWORD --yes --save',
  ],
  async input({ options, save }, ctx) {
    const username = options.username as string | undefined;
    if (username === undefined)
      throw new InputError("--username: required (the TURN username, e.g. 'pexip')");
    const problem = turnUsernameProblem(username);
    if (problem) throw new InputError(`--username: ${problem}`);
    const password = await newPassword(options, save, ctx);
    return { username, password: password.ref, saved: password.saved };
  },
  recipes: () => [turnCredentialsRecipe],
  section: 'turn',
  override: (input, current) => {
    const turn = section(current);
    return {
      ...turn,
      credentials: { ...turn.credentials, username: input.username, password: input.password },
    };
  },
  save: {
    writes: 'turn.credentials.username and .password',
    values: (input) => [
      { path: ['turn', 'credentials', 'username'], value: input.username },
      { path: ['turn', 'credentials', 'password'], value: input.saved },
    ],
  },
  after(input, run) {
    // only where a password was set: removing other users (exclusive) changes nothing in Infinity
    const set = run.hosts
      .filter(
        (h) => h.status === 'changed' && h.changes.some((c) => c.change.steps?.some((s) => s.secretFiles)),
      )
      .map((h) => h.name);
    return set.length
      ? `Reminder: ${INFINITY_REMINDER} (username ${input.username}; changed on ${set.join(', ')}).\n`
      : undefined;
  },
};

export const turnExternalIp: ChangeCommand<string | null> = {
  kind: 'change',
  path: ['turn', 'external-ip'],
  summary: 'set or remove the external-ip= (public NAT address) of the TURN server; restarts TURN',
  arguments: [{ name: 'ip', description: 'the public NAT address, IPv4 or IPv6' }],
  options: [{ flags: '--unset', description: 'remove the external-ip line instead' }],
  disruptive: true,
  help: `
Restarting TURN cuts every call relayed through the appliance: without --allow-disruptive the
change is shown and deferred (exit 2). Verified with a fresh allocation relayed at the new address.`,
  examples: [
    'rpctl turn external-ip -i inventories/prod.yaml --limit rp-lon-1 203.0.113.10                      # shows, defers',
    'rpctl turn external-ip -i inventories/prod.yaml --limit rp-lon-1 203.0.113.10 --allow-disruptive --save',
    'rpctl turn external-ip -i inventories/prod.yaml --limit rp-lon-1 --unset --allow-disruptive --yes',
  ],
  input({ args: [ip], options }) {
    if (typeof ip === 'string' && options.unset)
      throw new InputError('turn external-ip: give an address or --unset, not both');
    if (typeof ip !== 'string') {
      if (options.unset) return null;
      throw new InputError('turn external-ip: give the public NAT address (e.g. 203.0.113.10) or --unset');
    }
    const problem = externalIpProblem(ip);
    if (problem) throw new InputError(`turn external-ip: ${problem}`);
    return ip;
  },
  recipes: () => [turnNatRecipe],
  section: 'turn',
  override: (ip, current) => ({ ...section(current), externalIp: ip }),
  save: { writes: 'turn.externalIp', values: (ip) => [{ path: ['turn', 'externalIp'], value: ip }] },
};

export const turnCommands: readonly AnyOneOffCommand[] = [turnCredentials, turnExternalIp];
