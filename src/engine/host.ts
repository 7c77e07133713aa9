/**
 * The work on one host: read its facts (taking the apply lock when applying), plan, and apply:
 * one apply exec carrying the files, verify, roll back when verification fails. Everything on the
 * host's one SSH connection, except a plan whose handlers may cut that connection (commit-confirmed.ts)
 * and an apply whose connection dropped: its outcome is read over one new connection (outcome.ts).
 */
import { randomBytes } from 'node:crypto';
import { HostError, oneLine, withoutHostName } from '../errors.js';
import type { ApplianceConfig } from '../inventory/model.js';
import { joinCommands } from '../transport/shell.js';
import type { ExecStream, HostSession, UploadFile } from '../transport/types.js';
import { acquires, applyAcquiring } from './acquire.js';
import {
  type ApplyContext,
  type ApplyResult,
  applyFailure,
  errorLine,
  firstLine,
  type PreparedApply,
  restoredChecks,
  verifyChecks,
} from './apply-result.js';
import {
  type ApplyScriptInput,
  applyExec,
  type InstallFile,
  parseApplyOutput,
  rollbackScript,
} from './apply-script.js';
import { refusedRestore, unrestorable } from './backup-script.js';
import { applyCommitConfirmed } from './commit-confirmed.js';
import {
  factsBody,
  factsProblem,
  type GatheredFacts,
  type MergedFactSpec,
  mergeFactSpecs,
  parseFacts,
} from './facts.js';
import { describeJournal, JOURNAL, parseJournal, parseResolution, resolveScript } from './journal.js';
import { LOCKED_EXIT, type LockHolder, lockedError, lockHoldTail, lockPrelude } from './lock.js';
import {
  type AfterReconnect,
  afterApplyError,
  readOutcomeAfterReconnect,
  timedOutOutcome,
} from './outcome.js';
import { appliedChanges, type HostPlan, type PlanOptions, planHost, type SelectedRecipe } from './plan.js';
import type { Reconnections } from './reconnections.js';
import { runChecks } from './verify.js';

export type { ApplyContext, ApplyResult } from './apply-result.js';

export interface HostWork {
  appliance: ApplianceConfig;
  selected: SelectedRecipe[];
  spec: MergedFactSpec;
}

export interface PreparedHost extends HostWork {
  session: HostSession;
  facts: GatheredFacts;
  plan: HostPlan;
  /** the lock holder's channel (apply only) */
  lock?: ExecStream;
  uploadDir: string;
  /** apply: what resolving an interrupted apply found and did, before this host was planned */
  resolved?: string;
}

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Read facts without the lock (plan, drift, facts). */
export async function readFacts(session: HostSession, work: HostWork): Promise<GatheredFacts> {
  const result = await session.exec(factsBody(work.spec), { sudo: true });
  const problem = factsProblem(work.appliance.name, result.stdout);
  if (problem) throw problem;
  if (result.code !== 0) {
    throw new HostError(
      'facts',
      `${work.appliance.name}: reading facts failed: ${firstLine(result.stderr) || `exit ${result.code}`}`,
    );
  }
  return parseFacts(work.appliance.name, work.spec, result.stdout);
}

/** Take the apply lock and read facts in the same exec; the lock stays held until `release`. */
export async function lockAndReadFacts(
  session: HostSession,
  work: HostWork,
  holder: LockHolder,
  lockWaitSeconds: number,
  uploadDir: string,
): Promise<{ facts: GatheredFacts; lock: ExecStream }> {
  const command = joinCommands([
    lockPrelude(holder, lockWaitSeconds),
    factsBody(work.spec),
    lockHoldTail(uploadDir),
  ]);
  const lock = await session.execStream(command, { sudo: true });
  try {
    await lock.waitFor(/^@(facts end|locked)/, (lockWaitSeconds + 60) * 1000);
  } catch (err) {
    const ended = await lock.finish().catch(() => undefined);
    const problem = factsProblem(work.appliance.name, lock.output());
    if (problem) throw problem;
    if (ended?.code === LOCKED_EXIT)
      throw lockedError(work.appliance.name, ended.stdout.toString(), lockWaitSeconds);
    if (err instanceof HostError) throw err;
    throw new HostError('facts', `${work.appliance.name}: reading facts failed: ${oneLine(err)}`);
  }
  const output = lock.output().toString('utf8');
  if (/^@locked/m.test(output)) {
    await lock.finish().catch(() => undefined);
    throw lockedError(work.appliance.name, output, lockWaitSeconds);
  }
  return { facts: parseFacts(work.appliance.name, work.spec, output), lock };
}

/**
 * Apply, before planning: an interrupted apply's journal found in `facts` is resolved (journal.ts):
 * validate what is installed, restore the recorded backups when that fails, run the handlers. The
 * facts read after it, and what it did, are returned; a resolution that could not restore fails
 * the host.
 */
export async function resolveInterrupted(
  session: HostSession,
  work: HostWork,
  facts: GatheredFacts,
): Promise<{ facts: GatheredFacts; resolved?: string }> {
  const journal = parseJournal(facts.text(JOURNAL));
  if (!journal) return { facts };
  const name = work.appliance.name;
  const result = await session.exec(resolveScript(journal, factsBody(work.spec)), { sudo: true });
  const output = result.stdout.toString('utf8');
  const resolution = parseResolution(output);
  const what = describeJournal(journal);
  if (resolution.unrestorable.length > 0 || !resolution.resolved) {
    const why = resolution.unrestorable.length
      ? refusedRestore(resolution.unrestorable)
      : `resolving it failed (exit ${result.code}): ${firstLine(result.stderr)}`;
    throw new HostError('apply', `${name}: ${what}: ${why}; nothing else was changed`);
  }
  const validation = resolution.valid
    ? 'what it installed is valid, kept'
    : `validation failed (${errorLine(resolution.output)}), its backups restored`;
  const handlers = resolution.failedHandlers.length
    ? `handler ${resolution.failedHandlers.join(', ')} failed`
    : 'handlers run';
  return {
    facts: parseFacts(name, work.spec, output),
    resolved: `resolved ${what}: ${validation}; ${handlers}`,
  };
}

export function prepareFromFacts(
  work: HostWork,
  session: HostSession,
  facts: GatheredFacts,
  options: PlanOptions,
  extra: { lock?: ExecStream; uploadDir: string; resolved?: string },
): PreparedHost {
  const plan = planHost(work.appliance.name, work.selected, facts, options);
  return { ...work, session, facts, plan, ...extra };
}

export function prepareApply(host: PreparedHost, runId: string): PreparedApply {
  const name = host.appliance.name;
  const { plan } = host;
  const uploads: UploadFile[] = [];
  const files: InstallFile[] = plan.writes.map(({ write, before }, i) => {
    const uploadName = `file-${i}`;
    uploads.push({ name: uploadName, content: write.content, mode: 0o600 });
    const mode = write.mode ?? (before.exists ? before.mode : undefined);
    const owner = write.owner ?? (before.exists ? before.owner : undefined);
    const group = write.group ?? (before.exists ? before.group : undefined);
    if (mode === undefined || owner === undefined || group === undefined) {
      throw new HostError('plan', `${name}: internal: new file ${write.path} has no mode/owner/group`);
    }
    return {
      path: write.path,
      uploadName,
      mode,
      owner,
      group,
      expectedSha256: before.exists ? before.sha256 : null,
      siblingBackup: write.siblingBackup,
      ...(write.secret ? { secret: true } : {}),
    };
  });
  for (const step of plan.steps) {
    for (const [fileName, content] of Object.entries(step.secretFiles ?? {})) {
      if (uploads.some((u) => u.name === fileName))
        throw new HostError('plan', `${name}: internal: upload ${fileName} twice`);
      uploads.push({ name: fileName, content, mode: 0o600 });
    }
  }
  const touches = plan.steps.flatMap((s) => s.touches ?? []);
  const afterSpec = factsAfterSpec(host);
  const input: ApplyScriptInput = {
    runId,
    uploadDir: host.uploadDir,
    files,
    touches,
    steps: plan.steps.map((s) => ({ summary: s.summary, command: s.command })),
    validate: plan.validate,
    handlers: plan.handlers,
    factsAfter: factsBody(afterSpec, { afterChange: true }),
    ...(host.appliance.backupsKept === undefined ? {} : { backupsKept: host.appliance.backupsKept }),
  };
  return { input, afterSpec, files, uploads };
}

/**
 * What is read again after applying: the facts of the recipes that changed and those the checks
 * of the handlers that ran read, not the whole spec (what the others read did not change).
 */
export function factsAfterSpec(host: Pick<PreparedHost, 'plan' | 'selected'>): MergedFactSpec {
  const changed = new Set(appliedChanges(host.plan).map((c) => c.recipe));
  return mergeFactSpecs([
    ...host.selected.filter(({ recipe }) => changed.has(recipe.name)).map(({ recipe }) => recipe.facts),
    ...host.plan.handlers.flatMap((h) => h.facts ?? []),
  ]);
}

export async function applyHost(host: PreparedHost, ctx: ApplyContext): Promise<ApplyResult> {
  // a change that acquires (an ACME order) applies in stages: acquire.ts
  if (acquires(host.plan)) return applyAcquiring(host, ctx, applyPlan);
  return applyPlan(host, ctx);
}

async function applyPlan(host: PreparedHost, ctx: ApplyContext): Promise<ApplyResult> {
  const prepared = prepareApply(host, ctx.runId);
  if (host.plan.commitConfirmed) return applyCommitConfirmed(host, ctx, prepared);
  const sent = await sendApply(host, ctx, prepared);
  if (sent.kind === 'unknown') {
    await sent.reconnections?.closeAll();
    return {
      status: 'unknown',
      error: sent.error,
      verification: [],
      rolledBack: false,
      ...moreSessions(sent),
    };
  }
  try {
    const result = await verifyApplied(host, ctx, prepared, sent);
    return sent.kind === 'read' ? { ...result, notes: [sent.note], ...moreSessions(sent) } : result;
  } finally {
    if (sent.kind === 'read') await sent.reconnections.closeAll();
  }
}

type Sent =
  | { kind: 'output'; output: string; how: string; session: HostSession }
  | Extract<AfterReconnect, { kind: 'read' }>
  /** no `reconnections`: the apply outlived its timeout on a live connection, none was opened */
  | { kind: 'unknown'; error: HostError; reconnections?: Reconnections };

const moreSessions = (sent: { reconnections?: { sessions: HostSession[] } }) =>
  sent.reconnections ? { moreSessions: sent.reconnections.sessions.map((s) => s.stats) } : {};

/**
 * The one apply exec. When its connection drops, its outcome is read over a new connection
 * (outcome.ts), or it is unknown; an apply that outlives its timeout is unknown too.
 */
async function sendApply(host: PreparedHost, ctx: ApplyContext, prepared: PreparedApply): Promise<Sent> {
  const { command, stdin } = applyExec(prepared.input, prepared.uploads);
  const sentAt = Date.now();
  try {
    const result = await host.session.exec(command, { sudo: true, stdin, timeoutMs: ctx.applyTimeoutMs });
    const how = `(exit ${result.code}${result.signal ? `, ${result.signal}` : ''}): ${firstLine(result.stderr)}`;
    return { kind: 'output', output: result.stdout.toString('utf8'), how, session: host.session };
  } catch (err) {
    const next = err instanceof HostError ? afterApplyError(err.reason) : 'error';
    if (next === 'error') throw err;
    const name = host.appliance.name;
    if (next === 'unknown')
      return { kind: 'unknown', error: timedOutOutcome(name, ctx.runId, ctx.applyTimeoutMs) };
    const lost = withoutHostName(name, (err as HostError).message);
    return readOutcomeAfterReconnect(ctx, { name, address: host.appliance.ssh.host, sentAt, lost });
  }
}

/** Verify what the apply printed; roll back (over the session it was read on) when that fails. */
async function verifyApplied(
  host: PreparedHost,
  ctx: ApplyContext,
  { input, files, afterSpec }: PreparedApply,
  sent: Exclude<Sent, { kind: 'unknown' }>,
): Promise<ApplyResult> {
  const name = host.appliance.name;
  const { output, session } = sent;
  const outcome = parseApplyOutput(output);
  if (outcome.kind !== 'applied') {
    const how = sent.kind === 'output' ? sent.how : '(its output was read after reconnecting)';
    return failed(applyFailure(host, input, outcome, how));
  }
  const reread = parseFacts(name, afterSpec, output.slice(output.indexOf('@applied')));
  const factsAfter = host.facts.updatedWith(reread);
  const checks = verifyChecks(host, factsAfter, ctx.now);
  const verification = await runChecks(checks, {
    address: ctx.address,
    probes: ctx.probes,
    secret: ctx.secret,
  });
  const failing = verification.filter((r) => !r.ok);
  if (failing.length === 0) return { status: 'changed', verification, factsAfter, rolledBack: false };

  // Verification failed: put the previous files back, run the handlers again, check it worked.
  const back = await session.exec(rollbackScript(input), { sudo: true, timeoutMs: ctx.applyTimeoutMs });
  const restoredFacts = host.facts.updatedWith(parseFacts(name, afterSpec, back.stdout.toString('utf8')));
  const restoreChecks = restoredChecks(host, files, restoredFacts, ctx.now);
  const restoredResults = await runChecks(restoreChecks, {
    address: ctx.address,
    probes: ctx.probes,
    secret: ctx.secret,
  });
  const refused = unrestorable(back.stdout.toString('utf8'));
  const restoredOk = restoredResults.every((r) => r.ok) && refused.length === 0;
  const incomplete = refused.length ? refusedRestore(refused) : restoredResults.find((r) => !r.ok)?.message;
  const message = `${name}: verification failed: ${failing[0]!.message}; ${restoredOk ? 'rolled back' : `rollback incomplete: ${incomplete}`}`;
  return {
    status: 'failed',
    error: new HostError('verification', message),
    verification: [...verification, ...restoredResults],
    factsAfter: restoredFacts,
    rolledBack: true,
  };

  function failed(error: HostError): ApplyResult {
    return { status: 'failed', error, verification: [], rolledBack: false };
  }
}
