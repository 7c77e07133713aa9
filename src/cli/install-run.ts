/**
 * The install runner: `rpctl install -i INV --limit HOSTS [--rerun]`, a custom one-off whose spec
 * (in its concern) brings the first-login wizard to drive (FirstLoginWizard, src/engine/one-off.ts).
 * On freshly deployed appliances, in parallel: the first login (PAM's forced password change), the
 * wizard answered on a terminal, its reboot, and a plan with every recipe to show the appliance is
 * as the inventory says. install-host.ts does one appliance, install-reconnect.ts the host keys.
 *
 * Everything is checked before any appliance is contacted (exit 3): the wizard's answers and
 * password rules (its `prepare`), the passwords' consistency, the recipes' desired state.
 */
import { mkdirSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { newRunId } from '../engine/host.js';
import type { CustomCommand, FirstLoginInput, FirstLoginWizard } from '../engine/one-off.js';
import { runFleet } from '../engine/run.js';
import { sshTarget } from '../engine/ssh-target.js';
import { ExitCode, InputError } from '../errors.js';
import type { ApplianceConfig, SecretRef } from '../inventory/model.js';
import { describeSecretRef, valueSecretRef } from '../inventory/secrets.js';
import { stateDir, writeFileAtomic } from '../report/records.js';
import { JumpHosts, openSession } from '../transport/ssh.js';
import { type InventoryOptions, loadSelection, type Selection } from './common.js';
import { type InstallContext, type InstallTarget, installHost } from './install-host.js';
import { installExitCode, installReport, renderInstall } from './install-report.js';
import type { CommandContext } from './program.js';
import { DEFAULT_CONCURRENCY, DEFAULT_HANDSHAKES, parseCount, parseFormat } from './run-options.js';

const FORMATS = ['text', 'json'] as const;

interface InstallFlags extends InventoryOptions {
  concurrency?: string;
  handshakes?: string;
  acceptNewHostKeys?: boolean;
  yes?: boolean;
  format?: string;
  output?: string;
}

/**
 * Check one appliance's install inputs with its secrets resolved (the wizard's own checks, then
 * the passwords' consistency and every recipe's desired state); throws InputError.
 */
function target(
  ctx: CommandContext,
  wizard: FirstLoginWizard,
  appliance: ApplianceConfig,
  selection: Selection,
  input: FirstLoginInput,
  factory: SecretRef,
): InstallTarget {
  const { name } = appliance;
  const secret = (ref: SecretRef) => selection.secrets.get(ref);
  const prepared = wizard.prepare(appliance, secret, input);
  const initialPassword = prepared.initialPassword ?? factory;
  const { newPassword } = prepared;
  const where = describeSecretRef(newPassword);
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
    recipe.desired({ appliance, secret, addSecret: (v) => selection.redactor.add(v), now: new Date() });
  return {
    appliance,
    initialPassword,
    newPassword,
    rebootTimeoutMs: prepared.rebootTimeoutMs,
    conversation: prepared.conversation,
  };
}

async function confirmRerun(ctx: CommandContext, names: string[]): Promise<boolean> {
  const question = `Rerun the install wizard on ${names.join(', ')}? Each appliance reboots at the end (calls through it are cut). Only "yes" proceeds: `;
  return (await ctx.io.prompt(question)).trim().toLowerCase() === 'yes';
}

export async function runInstall(
  ctx: CommandContext,
  spec: CustomCommand<FirstLoginInput, 'install'>,
  input: FirstLoginInput,
  flags: InstallFlags,
): Promise<void> {
  const wizard = spec.uses;
  const format = parseFormat(flags.format, FORMATS);
  const concurrency = parseCount(
    '--concurrency',
    flags.concurrency,
    spec.defaultConcurrency ?? DEFAULT_CONCURRENCY,
    1,
    1000,
  );
  const handshakes = parseCount('--handshakes', flags.handshakes, DEFAULT_HANDSHAKES, 1, 1000);
  if (input.rerun && !flags.yes && !ctx.io.stdinIsTTY)
    throw new InputError(
      'install --rerun reboots the appliances and asks first; there is no terminal: pass --yes',
    );
  const selection = await loadSelection(ctx, flags);
  const factory = valueSecretRef(wizard.factoryPassword, 'the factory password');
  await selection.secrets.resolve([{ ref: factory, label: 'the factory password' }]);
  selection.redactor.add(wizard.factoryPassword);
  const targets = selection.appliances.map((appliance) =>
    target(ctx, wizard, appliance, selection, input, factory),
  );
  if (
    input.rerun &&
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
    wizard,
    rerun: input.rerun,
    acceptRegeneratedHostKey: input.acceptRegeneratedHostKey,
    secret,
    redactor: selection.redactor,
    connect: (appliance, options) =>
      openSession(sshTarget(appliance, secret), {
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
        probes: ctx.registry.probes ?? new Map(),
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
