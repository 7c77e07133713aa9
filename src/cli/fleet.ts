/**
 * Running the engine from a command: load and select, connect (one SSH connection per host, a cap
 * on handshakes separate from the cap on busy hosts), run, print the report, set the exit code,
 * write the run record. Used by plan, apply, drift, facts and every one-off command.
 */
import { hostname, userInfo } from 'node:os';
import pLimit from 'p-limit';
import type { Recipe } from '../engine/contract.js';
import { newRunId } from '../engine/host.js';
import { type FleetResult, type HostOutcome, isFailure, type RunMode, runFleet } from '../engine/run.js';
import { sshTarget } from '../engine/ssh-target.js';
import { ExitCode, InputError } from '../errors.js';
import type { ApplianceConfig, Inventory } from '../inventory/model.js';
import { useColour } from '../report/diff.js';
import {
  type ChangeKind,
  changeKind,
  History,
  type HistoryEntry,
  historyEntries,
} from '../report/history.js';
import { jsonReport, withSchemaVersion } from '../report/json.js';
import { createProgress, type Progress } from '../report/progress.js';
import {
  runRecordDir,
  stateDir,
  writeFileAtomic,
  writeRunRecord,
  writeUnknownOutcomeRecord,
} from '../report/records.js';
import { renderFleet, renderGroups } from '../report/text.js';
import { JumpHosts, openSession } from '../transport/ssh.js';
import { type InventoryOptions, loadSelection, type Selection, sshLogging } from './common.js';
import { ApplyInterrupt } from './interrupt.js';
import { checkWritableDir, checkWritableFile } from './local-checks.js';
import type { CommandContext } from './program.js';
import {
  CONFIRM_TIMEOUT_RANGE,
  DEFAULT_CONCURRENCY,
  DEFAULT_CONFIRM_TIMEOUT_S,
  DEFAULT_HANDSHAKES,
  DEFAULT_LOCK_TIMEOUT_S,
  parseCount,
  parseFormat,
  parseSerial,
  type RunFlags,
  selectRecipes,
} from './run-options.js';

export interface FleetCommand {
  mode: RunMode;
  flags: RunFlags & InventoryOptions;
  formats: readonly string[];
  /** one-off commands: the recipes to run instead of --recipes */
  recipes?: readonly Recipe[];
  /** narrow the selection further (drift --shard) */
  select?(appliances: readonly ApplianceConfig[]): ApplianceConfig[];
  /** after the run, before the report (e.g. probe served certificates) */
  postRun?(result: FleetResult, selection: Selection): Promise<void>;
  /** more to remember per host in the history (drift: certificate days left) */
  historyExtra?(host: string): Partial<HistoryEntry>;
  /**
   * one-off commands: replace or add inventory sections per appliance (e.g. `--pem FILE`); runs
   * before secrets are resolved, so secret refs it adds are resolved with the inventory's
   */
  override?(appliance: ApplianceConfig, inventory: Inventory): ApplianceConfig;
  /** one-off commands: refuse the selection before any secret is read or host contacted (--save) */
  checkSelection?(inventory: Inventory, selected: readonly ApplianceConfig[]): void | Promise<void>;
  /** after the report: print a reminder, save to the inventory (`--save`)... */
  after?(result: FleetResult, selection: Selection): Promise<string | undefined> | string | undefined;
  /** render the report in a command-specific format (may probe, e.g. TLS); undefined falls back to text/json */
  render?(
    format: string,
    result: FleetResult,
    selection: Selection,
  ): string | undefined | Promise<string | undefined>;
}

export function exitCodeOf(result: FleetResult): 0 | 1 | 2 {
  if (result.hosts.some((h) => isFailure(h.status))) return ExitCode.failed;
  if (result.mode === 'facts') return ExitCode.ok;
  if (!result.confirmed) return ExitCode.changes;
  if (result.hosts.some((h) => h.status === 'drift' || h.pending.length > 0)) return ExitCode.changes;
  return ExitCode.ok;
}

export async function runFleetCommand(ctx: CommandContext, command: FleetCommand): Promise<FleetResult> {
  const { flags, mode } = command;
  const { io, registry } = ctx;
  // Every flag is checked before the inventory is read and before any host is contacted.
  const format = parseFormat(flags.format, command.formats);
  const concurrency = parseCount('--concurrency', flags.concurrency, DEFAULT_CONCURRENCY);
  const handshakes = parseCount('--handshakes', flags.handshakes, DEFAULT_HANDSHAKES, 1, 1000);
  const serial = parseSerial('--serial', flags.serial);
  const maxFail = parseSerial('--max-fail', flags.maxFail, true);
  const lockWaitSeconds = parseCount('--lock-timeout', flags.lockTimeout, DEFAULT_LOCK_TIMEOUT_S, 0, 3600);
  const confirmTimeoutSeconds = parseCount(
    '--confirm-timeout',
    flags.confirmTimeout,
    DEFAULT_CONFIRM_TIMEOUT_S,
    ...CONFIRM_TIMEOUT_RANGE,
  );
  const recipes = command.recipes ?? selectRecipes(registry.recipes, flags.recipes);
  if (mode === 'apply' && !flags.yes && !io.stdinIsTTY) {
    throw new InputError(
      'apply asks for confirmation and there is no terminal: pass --yes to apply without asking',
    );
  }
  const keepsHistory = mode === 'drift' || mode === 'apply';
  checkLocalWrites(flags.output, mode, io.env);
  const selection = await loadSelection(ctx, flags, command.override, command.checkSelection);
  const appliances = command.select ? command.select(selection.appliances) : selection.appliances;
  const history = new History(io.env, selection.inventory.fleet);
  const colour = useColour(io.stdout.isTTY, io.env, flags.color === false);
  const progress = createProgress(io, {
    hosts: appliances.map((a) => a.name),
    tty: io.stderr.isTTY && !io.env.CI,
    // facts is a dump, not a check: its errors are in the report, nothing else is said off a terminal
    quiet: mode === 'facts' && !io.stderr.isTTY,
  });
  const handshakeLimit = pLimit(handshakes);
  const jumpHosts = new JumpHosts();
  const secret = (ref: Parameters<Selection['secrets']['get']>[0]) => selection.secrets.get(ref);
  const runId = newRunId();
  const recordContext = { inventory: selection.inventory.file, argv: process.argv.slice(2) };
  const finished: HostOutcome[] = [];
  const interrupt = new ApplyInterrupt(io.stderr, (unknown, code) => {
    const startedAt = new Date().toISOString();
    const context = { ...recordContext, interrupted: interrupt.signal };
    writeUnknownOutcomeRecord({ runId, startedAt, finished }, unknown, context, io.env);
    process.exit(code);
  });
  if (mode === 'apply') interrupt.listen();
  const events = interrupt.track({
    ...progress.events,
    done: (outcome) => {
      finished.push(outcome);
      progress.events.done?.(outcome);
    },
  });
  let result: FleetResult;
  try {
    result = await runFleet({
      runId,
      interrupted: () => interrupt.requested,
      mode,
      appliances,
      groups: selection.inventory.groups,
      recipes,
      baseFacts: registry.baseFacts,
      connect: (appliance) =>
        openSession(sshTarget(appliance, secret), {
          acceptNewHostKeys: Boolean(flags.acceptNewHostKeys),
          handshakeLimit,
          jumpHosts,
          ...sshLogging(ctx, selection.redactor),
        }),
      secret,
      redactor: selection.redactor,
      probes: registry.probes ?? new Map(),
      acquirers: registry.acquirers ?? new Map(),
      concurrency,
      serial,
      maxFail,
      allowDisruptive: Boolean(flags.allowDisruptive),
      lockWaitSeconds,
      confirmTimeoutSeconds,
      holder: { user: userInfo().username, host: hostname(), pid: process.pid, command: `rpctl ${mode}` },
      events,
      confirm: flags.yes ? undefined : async (hosts) => confirmPlan(ctx, hosts, progress, flags.diff ?? true),
      digest: keepsHistory ? (desired) => history.digest(desired) : undefined,
    });
  } finally {
    progress.stop();
    await jumpHosts.shutdown();
  }
  // from here on the outcome is known: a signal now ends rpctl as usual
  interrupt.stop();
  await command.postRun?.(result, selection);
  const past = keepsHistory ? history.read() : [];
  const kinds = mode === 'apply' ? changeKinds(result, past) : undefined;
  // the plan was shown with its diffs before the confirmation: the apply report does not repeat them
  const diffs = flags.diff ?? !(mode === 'apply' && !flags.yes);
  const rendered =
    (await command.render?.(format, result, selection)) ??
    (format === 'json'
      ? `${JSON.stringify(jsonReport(result, { diffs, kinds }), null, 2)}\n`
      : renderFleet(result, { colour, diffs }));
  const report = format === 'json' ? withSchemaVersion(rendered) : rendered;
  const safe = selection.redactor.redact(report);
  // the record first: a report that cannot be written must not lose what was done
  const recordPath =
    mode === 'apply' && result.confirmed
      ? writeRunRecord(
          result,
          { ...recordContext, kinds, ...(interrupt.signal ? { interrupted: interrupt.signal } : {}) },
          io.env,
          selection.redactor,
        )
      : undefined;
  if (flags.output) writeFileAtomic(flags.output, safe, 0o644);
  else io.stdout.write(safe);
  const after = await command.after?.(result, selection);
  if (after) io.stderr.write(selection.redactor.redact(after));
  if (recordPath && format === 'text') io.stderr.write(`run record: ${recordPath}\n`);
  if (keepsHistory && result.confirmed) {
    const entries = historyEntries(result, history.fleet, command.historyExtra);
    history.append(entries, selection.inventory.historyKeepMs);
  }
  ctx.exitWith(interrupt.exitCode ?? exitCodeOf(result));
  return result;
}

/** Everything this run will write locally, checked before the inventory is read or a host contacted. */
function checkLocalWrites(output: string | undefined, mode: RunMode, env: NodeJS.ProcessEnv): void {
  if (output) checkWritableFile('--output', output);
  if (mode === 'drift' || mode === 'apply') checkWritableDir('the state directory', stateDir(env));
  if (mode === 'apply') checkWritableDir('the run-record directory', runRecordDir(env));
}

/** Show the plan and ask on the terminal (apply without --yes). */
async function confirmPlan(
  ctx: CommandContext,
  hosts: readonly HostOutcome[],
  progress: Progress,
  diffs: boolean,
): Promise<boolean> {
  progress.pause();
  const colour = useColour(ctx.io.stderr.isTTY, ctx.io.env);
  const text = renderGroups(hosts, 'plan', { colour, diffs });
  ctx.io.stderr.write(`\n${text}\n`);
  const changes = hosts.reduce((n, h) => n + h.changes.length, 0);
  const answer = await ctx.io.prompt(
    `Apply ${changes} change${changes === 1 ? '' : 's'} to ${hosts.length} host${hosts.length === 1 ? '' : 's'}? Only "yes" applies: `,
  );
  const yes = answer.trim().toLowerCase() === 'yes';
  if (yes) progress.resume(hosts);
  else ctx.io.stderr.write('Nothing applied.\n');
  return yes;
}

/** For each applied change: corrective (the appliance drifted) or intentional (the inventory changed). */
function changeKinds(
  result: FleetResult,
  past: readonly HistoryEntry[],
): Map<string, Map<string, ChangeKind>> {
  const kinds = new Map<string, Map<string, ChangeKind>>();
  for (const host of result.hosts) {
    const byRecipe = new Map<string, ChangeKind>();
    for (const change of host.changes) {
      const digest = host.managed.find((m) => m.recipe === change.recipe)?.digest;
      byRecipe.set(change.recipe, changeKind(past, host.name, change.recipe, digest));
    }
    kinds.set(host.name, byRecipe);
  }
  return kinds;
}
