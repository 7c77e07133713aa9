/**
 * Commit-confirmed apply, for a plan with a handler that may cut rpctl's SSH path (a network
 * restart: one wrong gateway and the host is unreachable). What network gear does:
 *
 *   1. the usual apply exec, except that right before the handlers it arms a rollback on the host
 *      (confirm-script.ts): after N seconds (--confirm-timeout) it restores the run's backups and
 *      runs the handlers again, unless a decision was made first
 *   2. a NEW SSH connection over the management address (`reconnectTo`, default the SSH host). One
 *      is unavoidable: the first may be gone, and only a new one proves that the host can still be
 *      reached after the change. The run's stats count it, the report says so.
 *   3. over it: the apply's outcome and fresh facts, the recipes' verification, then the decision:
 *      confirmed (the rollback is cancelled), or, when verification fails, roll back now
 *   4. no connection in time: the host rolls back by itself; rpctl goes on trying, and once in,
 *      checks that the previous files and state are back, and reports the host failed
 *
 * The decision is atomic on the host: a confirmation arriving as the timer runs out either wins or
 * finds the rollback under way, never both.
 */
import { HostError, oneLine } from '../errors.js';
import type { ShellCommand } from '../transport/shell.js';
import type { ExecResult, HostSession } from '../transport/types.js';
import {
  type ApplyContext,
  type ApplyResult,
  applyFailure,
  type PreparedApply,
  restoredChecks,
  verifyChecks,
} from './apply-result.js';
import { type ApplyOutcome, applyScript, parseApplyOutput } from './apply-script.js';
import {
  type ConfirmState,
  confirmDir,
  confirmStateScript,
  decideScript,
  forgetScript,
  parseConfirmState,
  parseDecision,
} from './confirm-script.js';
import { factsBody, type GatheredFacts, parseFacts } from './facts.js';
import type { PreparedHost } from './host.js';
import { type CheckResult, runChecks } from './verify.js';

const POLL_MS = 1000;
const EXEC_TIMEOUT_MS = 20_000;
/** after the window: how long the host may take to roll back and answer again */
const ROLLBACK_ALLOWANCE_MS = 120_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** New connections to the host over one address, one at a time, each kept until it fails. */
class Reconnections {
  readonly sessions: HostSession[] = [];
  /** why the last attempt failed; a connection that hangs until the host answers again fails nothing */
  lastError = 'no answer';
  private current: HostSession | undefined;

  constructor(
    private readonly ctx: ApplyContext,
    readonly address: string,
  ) {}

  async exec(command: ShellCommand, until: number): Promise<ExecResult | undefined> {
    if (!this.current) {
      const connectSeconds = Math.min(10, Math.max(1, Math.ceil((until - Date.now()) / 1000)));
      try {
        this.current = await this.ctx.reconnect(this.address, connectSeconds);
        this.sessions.push(this.current);
      } catch (err) {
        this.lastError = oneLine(err);
        return undefined;
      }
    }
    try {
      const timeoutMs = Math.min(EXEC_TIMEOUT_MS, Math.max(1000, until - Date.now()));
      return await this.current.exec(command, { sudo: true, timeoutMs });
    } catch (err) {
      this.lastError = oneLine(err);
      const lost = this.current;
      this.current = undefined;
      void lost.close();
      return undefined;
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close().catch(() => undefined)));
  }
}

export async function applyCommitConfirmed(
  host: PreparedHost,
  ctx: ApplyContext,
  prepared: PreparedApply,
): Promise<ApplyResult> {
  const name = host.appliance.name;
  const dir = confirmDir(ctx.runId);
  const windowMs = ctx.confirmSeconds * 1000;
  const { files } = prepared;
  const input = { ...prepared.input, confirm: { dir, seconds: ctx.confirmSeconds } };
  const failed = (error: HostError): ApplyResult => ({
    status: 'failed',
    error,
    verification: [],
    rolledBack: false,
  });

  await host.session.upload(host.uploadDir, prepared.uploads);
  const sentAt = Date.now();
  // The apply itself, on the first connection. A handler may cut it and nothing tells a cut
  // connection from a slow one, so after a quarter of the window the next connection is tried (it
  // waits for handlers still running).
  const firstTimeoutMs = Math.min(ctx.applyTimeoutMs, Math.max(5000, windowMs / 4));
  const first = await host.session.exec(applyScript(input), { sudo: true, timeoutMs: firstTimeoutMs }).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  if ('result' in first) {
    const outcome = parseApplyOutput(first.result.stdout.toString('utf8'));
    // Stopped before the handlers (nothing armed), or a handler failed and the apply restored
    // and disarmed by itself: the usual failure, told over the connection that is still there.
    if (outcome.kind === 'stale' || outcome.kind === 'failed') {
      await host.session
        .exec(forgetScript(dir), { sudo: true, timeoutMs: EXEC_TIMEOUT_MS })
        .catch(() => undefined);
      return failed(applyFailure(host, files, outcome, ''));
    }
  } else {
    // cut or silent: a handler took the path away (or is slow); the next connection will tell
    void host.session.close();
  }

  const reconnections = new Reconnections(
    ctx,
    host.plan.commitConfirmed?.reconnectTo ?? host.appliance.ssh.host,
  );
  const giveUpAt = sentAt + windowMs + Math.min(ctx.applyTimeoutMs, ROLLBACK_ALLOWANCE_MS);
  const facts = factsBody(host.spec);
  const pause = () => sleep(ctx.confirmPollMs ?? POLL_MS);
  let wanted: 'confirmed' | 'rollback' | undefined;
  let verification: CheckResult[] = [];
  let reconnectedAfterMs: number | undefined;
  const note = (what: string) =>
    `commit-confirmed: rollback armed for ${ctx.confirmSeconds} s; ${
      reconnectedAfterMs === undefined
        ? `no new SSH connection over ${reconnections.address}`
        : `a new SSH connection over ${reconnections.address} after ${seconds(reconnectedAfterMs)}`
    }; ${what}`;
  // the host's rollback was cancelled: the change stands, verified with the facts read just now
  const confirmed = (factsAfter: GatheredFacts): ApplyResult => ({
    status: 'changed',
    verification,
    factsAfter,
    rolledBack: false,
    notes: [note(`verified; confirmed after ${seconds(Date.now() - sentAt)} (rollback cancelled)`)],
  });
  const finish = async (result: ApplyResult): Promise<ApplyResult> => {
    await reconnections.closeAll();
    return { ...result, moreSessions: reconnections.sessions.map((s) => s.stats) };
  };

  while (Date.now() < giveUpAt) {
    const read = await reconnections.exec(confirmStateScript(dir, facts, true), giveUpAt);
    let state: ConfirmState | undefined;
    let now: GatheredFacts | undefined;
    try {
      state = read && parseConfirmState(read.stdout.toString('utf8'));
      now = read && parseFacts(name, host.spec, read.stdout);
    } catch {
      // cut short: ask again
    }
    if (!state || !now) {
      await pause();
      continue;
    }
    reconnectedAfterMs ??= Date.now() - sentAt;
    if (state.missing) {
      return finish(
        failed(
          new HostError(
            'apply',
            `${name}: the commit-confirmed state ${dir} is gone from the host; check it`,
          ),
        ),
      );
    }
    if (state.decision === 'confirmed') return finish(confirmed(now));
    if (state.decision === 'restored-by-apply') {
      const outcome = parseApplyOutput(state.applyOutput ?? '');
      const error = applyFailure(host, files, outcome as Exclude<ApplyOutcome, { kind: 'applied' }>, '');
      return finish({
        ...failed(error),
        factsAfter: now,
        notes: [note('the apply restored the previous files itself')],
      });
    }
    if (state.decision === 'rollback') {
      if (!state.restored) {
        await pause(); // the rollback is under way
        continue;
      }
      const why =
        wanted === 'rollback'
          ? `verification failed: ${verification.find((v) => !v.ok)?.message}`
          : wanted === 'confirmed'
            ? `the confirmation came after the ${ctx.confirmSeconds} s window`
            : `no new SSH connection over ${reconnections.address} within the ${ctx.confirmSeconds} s window (${reconnections.lastError}; it answered again after ${seconds(reconnectedAfterMs)})`;
      return finish(await rolledBack(host, ctx, files, now, state, why, verification, note));
    }
    if (state.applyOutput === undefined) {
      await pause(); // the apply is still running its handlers
      continue;
    }
    const outcome = parseApplyOutput(state.applyOutput);
    if (outcome.kind === 'stale' || (outcome.kind === 'failed' && outcome.stage !== 'handler')) {
      await reconnections.exec(forgetScript(dir), giveUpAt);
      return finish(failed(applyFailure(host, files, outcome, '')));
    }
    if (wanted === undefined) {
      // applied (or cut short: then verification fails and the rollback runs now)
      const checks = outcome.kind === 'applied' ? verifyChecks(host, now, ctx.now) : [];
      if (outcome.kind !== 'applied')
        checks.push({ kind: 'assert', ok: false, message: 'the apply did not finish' });
      const context = { address: ctx.address, probes: ctx.probes, secret: ctx.secret };
      verification = await runChecks(checks, context);
      wanted = verification.every((v) => v.ok) ? 'confirmed' : 'rollback';
    }
    const decided = await reconnections.exec(decideScript(dir, wanted), giveUpAt);
    const decision = decided && parseDecision(decided.stdout.toString('utf8'));
    if (decision === 'confirmed') return finish(confirmed(now));
    await pause(); // rolling back (ours, or the timer's), or the answer was lost: read again
  }
  const message = `${name}: no SSH connection over ${reconnections.address} within the ${ctx.confirmSeconds} s window nor after the host's automatic rollback (waited ${seconds(Date.now() - sentAt)}; ${reconnections.lastError}); check it from its console`;
  return finish({
    status: 'unreachable',
    error: new HostError('unreachable', message),
    verification,
    rolledBack: false,
    notes: [note('gave up')],
  });
}

/** The host rolled back (by itself, or because verification failed): check that it all came back. */
async function rolledBack(
  host: PreparedHost,
  ctx: ApplyContext,
  files: PreparedApply['files'],
  now: GatheredFacts,
  state: ConfirmState,
  why: string,
  verification: CheckResult[],
  note: (what: string) => string,
): Promise<ApplyResult> {
  const took = state.restored ? (state.restored.ended - state.restored.started).toFixed(1) : '?';
  const checks = restoredChecks(host, files, now, ctx.now);
  const restored = await runChecks(checks, { address: ctx.address, probes: ctx.probes, secret: ctx.secret });
  const bad = restored.find((r) => !r.ok);
  const back = bad ? `the rollback is incomplete: ${bad.message}` : 'the previous files and state are back';
  return {
    status: 'failed',
    error: new HostError(
      verification.some((v) => !v.ok) ? 'verification' : 'unconfirmed',
      `${host.appliance.name}: ${why}; the host rolled back${verification.some((v) => !v.ok) ? '' : ' by itself'}; ${back}`,
    ),
    verification: [...verification, ...restored],
    factsAfter: now,
    rolledBack: true,
    notes: [note(`rolled back on the host (restore took ${took} s)`)],
  };
}
