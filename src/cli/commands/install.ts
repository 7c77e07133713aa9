/**
 * `rpctl install -i INV --limit HOSTS [--rerun]`: the first login (PAM's forced password change)
 * and the install wizard of freshly deployed appliances, answered from the inventory, in parallel;
 * then the reboot, and a plan with every recipe to show the appliance is as the inventory says.
 * See src/cli/install-host.ts for one appliance's steps, install-reboot.ts for host keys.
 *
 * Everything is checked before any appliance is contacted (exit 3): the answers the inventory
 * gives (recipes/install-answers.ts), the new password's complexity, the recipes' desired state.
 */
import { mkdirSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import pLimit from 'p-limit';
import { passwordPolicyProblem } from '../../../recipes/install-answers.js';
import type { InstallSection } from '../../../recipes/install-schema.js';
import { v4SecretProblem } from '../../../recipes/install-v4-answers.js';
import { FACTORY_PASSWORD } from '../../../recipes/install-wizard.js';
import { installAnswers } from '../../../recipes/install-wizards.js';
import { turnPasswordProblem } from '../../../recipes/turn-schema.js';
import { newRunId } from '../../engine/host.js';
import { runFleet } from '../../engine/run.js';
import { defaultProbes } from '../../engine/verify.js';
import { ExitCode, InputError } from '../../errors.js';
import type { ApplianceConfig, SecretRef } from '../../inventory/model.js';
import { describeSecretRef, valueSecretRef } from '../../inventory/secrets.js';
import { stateDir, writeFileAtomic } from '../../report/records.js';
import { JumpHosts, openSession } from '../../transport/ssh.js';
import { addInventoryOptions, type InventoryOptions, loadSelection, type Selection } from '../common.js';
import { type InstallContext, type InstallTarget, installHost } from '../install-host.js';
import { installExitCode, installReport, renderInstall } from '../install-report.js';
import type { CommandContext, CommandModule } from '../program.js';
import { DEFAULT_HANDSHAKES, parseCount, parseFormat } from '../run-options.js';

const FORMATS = ['text', 'json'] as const;
const DEFAULT_INSTALL_CONCURRENCY = 20;
const DEFAULT_REBOOT_TIMEOUT_S = 300;

interface InstallFlags extends InventoryOptions {
  rerun?: boolean;
  concurrency?: string;
  handshakes?: string;
  acceptNewHostKeys?: boolean;
  acceptRegeneratedHostKey?: boolean;
  yes?: boolean;
  format?: string;
  output?: string;
}

/** Check one appliance's install inputs with its secrets resolved; throws InputError. */
function target(
  ctx: CommandContext,
  appliance: ApplianceConfig,
  selection: Selection,
  factory: SecretRef,
  rerun: boolean,
): InstallTarget {
  const { name } = appliance;
  const answers = installAnswers(appliance);
  const install = appliance.sections.install as InstallSection;
  const secret = (ref: SecretRef) => selection.secrets.get(ref);
  const initialPassword = install.initialPassword ?? factory;
  const newPassword = answers.loginPassword;
  const where = describeSecretRef(newPassword);
  const problem = passwordPolicyProblem(secret(newPassword));
  if (problem)
    throw new InputError(
      `${name}: the new password (${where}) does not meet the appliance's policy: ${problem}`,
    );
  if (rerun && answers.declared === 'v4')
    throw new InputError(
      `${name}: install --rerun: the v4 wizard is never rerun (install.generation is v4); reset the appliance, then install`,
    );
  const v4Problem = 'refused' in answers.v4 ? undefined : v4SecretProblem(answers.v4, secret);
  if (v4Problem && (answers.declared === 'v4' || 'refused' in answers.v7))
    throw new InputError(`${name}: ${v4Problem}`);
  if (v4Problem) answers.v4 = { refused: `${name}: ${v4Problem}` };
  const v7 = 'refused' in answers.v7 ? undefined : answers.v7;
  if (v7?.turn && v7.turn.mode === 'permissive') {
    const shared = v7.turn.sharedSecret;
    const sharedProblem = turnPasswordProblem(secret(shared));
    if (sharedProblem)
      throw new InputError(
        `${name}: install.turn.sharedSecret (${describeSecretRef(shared)}): ${sharedProblem.replace('TURN password', 'shared secret')}`,
      );
  }
  if (secret(newPassword) === secret(initialPassword))
    throw new InputError(`${name}: the new password (${where}) is the initial password`);
  for (const [field, ref] of [
    ['sudo.password', appliance.sudo.password],
    ['ssh.password', appliance.ssh.password],
  ] as const) {
    if (ref && secret(ref) !== secret(newPassword))
      throw new InputError(
        `${name}: ${field} (${describeSecretRef(ref)}) differs from the new password (${where}); after the install they must be the same`,
      );
  }
  // The plan after the install must not fail on input: every recipe's desired state now.
  for (const recipe of ctx.registry.recipes)
    recipe.desired({ appliance, secret, addSecret: (v) => selection.redactor.add(v) });
  return {
    appliance,
    answers,
    initialPassword,
    newPassword,
    rebootTimeoutMs: 1000 * (install.rebootTimeout ?? DEFAULT_REBOOT_TIMEOUT_S),
  };
}

async function confirmRerun(ctx: CommandContext, names: string[]): Promise<boolean> {
  const question = `Rerun the install wizard on ${names.join(', ')}? Each appliance reboots at the end (calls through it are cut). Only "yes" proceeds: `;
  return (await ctx.io.prompt(question)).trim().toLowerCase() === 'yes';
}

async function install(ctx: CommandContext, flags: InstallFlags): Promise<void> {
  const format = parseFormat(flags.format, FORMATS);
  const concurrency = parseCount('--concurrency', flags.concurrency, DEFAULT_INSTALL_CONCURRENCY, 1, 1000);
  const handshakes = parseCount('--handshakes', flags.handshakes, DEFAULT_HANDSHAKES, 1, 1000);
  if (!flags.limit)
    throw new InputError('install: name the appliances with --limit (an install acts only on those)');
  if (flags.rerun && !flags.yes && !ctx.io.stdinIsTTY)
    throw new InputError(
      'install --rerun reboots the appliances and asks first; there is no terminal: pass --yes',
    );
  const selection = await loadSelection(ctx, flags);
  const factory = valueSecretRef(FACTORY_PASSWORD, 'the factory password');
  await selection.secrets.resolve([{ ref: factory, label: 'the factory password' }]);
  selection.redactor.add(FACTORY_PASSWORD);
  const targets = selection.appliances.map((appliance) =>
    target(ctx, appliance, selection, factory, Boolean(flags.rerun)),
  );
  if (
    flags.rerun &&
    !flags.yes &&
    !(await confirmRerun(
      ctx,
      targets.map((t) => t.appliance.name),
    ))
  ) {
    ctx.io.stderr.write('Nothing was done.\n');
    ctx.exitWith(ExitCode.changes);
    return;
  }

  const runId = newRunId();
  const transcripts = join(stateDir(ctx.io.env), 'install');
  mkdirSync(transcripts, { recursive: true, mode: 0o700 });
  const handshakeLimit = pLimit(handshakes);
  const jumpHosts = new JumpHosts();
  const secret = (ref: SecretRef) => selection.secrets.get(ref);
  const say = (line: string) => ctx.io.stderr.write(selection.redactor.redact(`${line}\n`));
  const installContext: InstallContext = {
    rerun: Boolean(flags.rerun),
    acceptRegeneratedHostKey: Boolean(flags.acceptRegeneratedHostKey),
    secret,
    redactor: selection.redactor,
    connect: (appliance, options) =>
      openSession(appliance, {
        secret,
        acceptNewHostKeys: Boolean(flags.acceptNewHostKeys || options?.acceptNewHostKey),
        handshakeLimit,
        jumpHosts,
      }),
    verify: async (appliance, session) => {
      const result = await runFleet({
        mode: 'plan',
        appliances: [appliance],
        groups: selection.inventory.groups,
        recipes: ctx.registry.recipes,
        baseFacts: ctx.registry.baseFacts,
        connect: async () => session,
        secret,
        redactor: selection.redactor,
        probes: defaultProbes,
        concurrency: 1,
        allowDisruptive: false,
        lockWaitSeconds: 0,
        holder: { user: userInfo().username, host: hostname(), pid: process.pid, command: 'rpctl install' },
      });
      return result.hosts[0]!;
    },
    transcriptPath: (name) => join(transcripts, `${runId}-${name}.log`),
    log: (name, line) => say(`${name}: ${line}`),
    turnTimeoutMs: 120_000,
  };
  const limit = pLimit(concurrency);
  let outcomes: Awaited<ReturnType<typeof installHost>>[];
  try {
    outcomes = await Promise.all(
      targets.map((t) =>
        limit(async () => {
          const outcome = await installHost(t, installContext);
          say(
            `${t.appliance.name}: ${outcome.status === 'installed' ? 'installed' : 'FAILED'}; transcript ${outcome.transcript}`,
          );
          return outcome;
        }),
      ),
    );
  } finally {
    await jumpHosts.shutdown();
  }
  const report =
    format === 'json' ? `${JSON.stringify(installReport(outcomes), null, 2)}\n` : renderInstall(outcomes);
  const safe = selection.redactor.redact(report);
  if (flags.output) writeFileAtomic(flags.output, safe, 0o644);
  else ctx.io.stdout.write(safe);
  ctx.exitWith(installExitCode(outcomes));
}

export const installCommands: CommandModule = {
  register(program: Command, ctx: CommandContext) {
    addInventoryOptions(program.command('install'))
      .description(
        'first login and install wizard of freshly deployed appliances, answered from the inventory; then reboot and plan',
      )
      .option(
        '--rerun',
        'run the wizard again on installed appliances (saved answers kept where the inventory agrees)',
      )
      .option('--concurrency <n>', `appliances installed at once (default ${DEFAULT_INSTALL_CONCURRENCY})`)
      .option('--handshakes <n>', `SSH handshakes at once (default ${DEFAULT_HANDSHAKES})`)
      .option('--accept-new-host-keys', "trust and record a fresh appliance's host key (trust on first use)")
      .option(
        '--accept-regenerated-host-key',
        'after the reboot, record the host key the appliance offers when the keys the wizard generated could not be read before it (this host only)',
      )
      .option('-y, --yes', 'do not ask before --rerun reboots appliances')
      .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'text')
      .option('--output <file>', 'write the report to FILE instead of standard output')
      .addHelpText(
        'after',
        `
Per appliance: log in as pexip with install.initialPassword (default the factory PEXIP), answer
PAM's forced change with install.newPassword (default sudo.password; 8+ characters, 3 of lower,
upper, digit, special: checked here first), log in again; ~/.profile starts the wizard (the v7.1
one or the v4 one, told by its text; install.generation: v4 checks before connecting what the v4
wizard cannot take), whose questions are recognised by their text and answered from the inventory. An unknown question, an
answer the wizard refuses ("Invalid: ...") or one the inventory lacks stops it (Ctrl-C, nothing
saved) and the host fails with the state it is in. The wizard regenerates the SSH host keys: the
new ones are read over the verified session before the reboot and replace this host's entries in
known_hosts (both fingerprints are printed). After the reboot, every recipe's plan must be empty.

Transcripts (secrets redacted): $RPCTL_STATE_DIR/install/RUN-HOST.log (path printed per host).

Exit codes: 0 installed and in sync, 2 installed but the plan has changes (run rpctl apply),
1 an appliance failed, 3 invalid input (nothing contacted).

Examples:
  rpctl install -i inventories/prod.yaml --limit 'rp-new-*' --accept-new-host-keys
  rpctl install -i inventories/prod.yaml --limit rp1 --rerun --yes`,
      )
      .action((flags: InstallFlags) => install(ctx, flags));
  },
};
