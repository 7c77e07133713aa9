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
 *
 * The states and transitions are in commit-confirmed-states.ts (pure); this file sends the apply,
 * reads the host, runs verification, asks for the decision, and turns the final state into a result.
 */
import { HostError } from '../errors.js';
import type { ShellCommand } from '../transport/shell.js';
import {
  type ApplyContext,
  type ApplyResult,
  applyFailure,
  type PreparedApply,
  restoredChecks,
  verifyChecks,
} from './apply-result.js';
import { type ApplyOutcome, applyExec, parseApplyOutput } from './apply-script.js';
import {
  armed,
  type FinalAction,
  gaveUp,
  type HostReading,
  isFinal,
  type NextAction,
  onDecision,
  onReading,
  onVerified,
  type Progress,
  rollbackCause,
  type Step,
} from './commit-confirmed-states.js';
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
import { Reconnections } from './reconnections.js';
import { runChecks } from './verify.js';

const POLL_MS = 1000;
const EXEC_TIMEOUT_MS = 20_000;
/** after the window: how long the host may take to roll back and answer again */
const ROLLBACK_ALLOWANCE_MS = 120_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function applyCommitConfirmed(
  host: PreparedHost,
  ctx: ApplyContext,
  prepared: PreparedApply,
): Promise<ApplyResult> {
  return new CommitConfirmed(host, ctx, prepared).run();
}

/** One commit-confirmed apply on one host: the machine of commit-confirmed-states.ts, run for real. */
class CommitConfirmed {
  private readonly name: string;
  private readonly dir: string;
  private readonly reconnections: Reconnections;
  private readonly facts: ShellCommand;
  private sentAt = 0;
  private progress: Progress = armed();

  constructor(
    private readonly host: PreparedHost,
    private readonly ctx: ApplyContext,
    private readonly prepared: PreparedApply,
  ) {
    this.name = host.appliance.name;
    this.dir = confirmDir(ctx.runId);
    this.facts = factsBody(host.spec, { afterChange: true });
    this.reconnections = new Reconnections(
      ctx,
      host.plan.commitConfirmed?.reconnectTo ?? host.appliance.ssh.host,
    );
  }

  async run(): Promise<ApplyResult> {
    const told = await this.sendApply();
    if (told) return told;
    const giveUpAt =
      this.sentAt + this.ctx.confirmSeconds * 1000 + Math.min(this.ctx.applyTimeoutMs, ROLLBACK_ALLOWANCE_MS);
    while (Date.now() < giveUpAt) {
      let step = onReading(this.progress, await this.read(giveUpAt));
      if (step.action.kind === 'verify') step = await this.verify(step.progress, step.action);
      if (step.action.kind === 'ask') step = await this.ask(step.progress, step.action, giveUpAt);
      this.progress = step.progress;
      if (isFinal(step.action)) return this.finish(await this.result(step.action, giveUpAt));
      await sleep(this.ctx.confirmPollMs ?? POLL_MS); // no answer, the host is busy, or the answer was lost
    }
    const step = gaveUp(this.progress);
    this.progress = step.progress;
    return this.finish(await this.result(step.action, giveUpAt));
  }

  /**
   * The apply itself, on the first connection. A handler may cut it and nothing tells a cut
   * connection from a slow one, so after a quarter of the window the next connection is tried (it
   * waits for handlers still running). A result here when the apply stopped before the handlers
   * (nothing armed) or a handler failed and the apply restored and disarmed by itself.
   */
  private async sendApply(): Promise<ApplyResult | undefined> {
    const { host, ctx, dir } = this;
    const input = { ...this.prepared.input, confirm: { dir, seconds: ctx.confirmSeconds } };
    const { command, stdin } = applyExec(input, this.prepared.uploads);
    this.sentAt = Date.now();
    const firstTimeoutMs = Math.min(ctx.applyTimeoutMs, Math.max(5000, (ctx.confirmSeconds * 1000) / 4));
    const first = await host.session.exec(command, { sudo: true, stdin, timeoutMs: firstTimeoutMs }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    if (!('result' in first)) {
      void host.session.close(); // cut or silent: a handler took the path away (or is slow)
      return undefined;
    }
    const outcome = parseApplyOutput(first.result.stdout.toString('utf8'));
    if (outcome.kind !== 'stale' && outcome.kind !== 'failed') return undefined;
    await host.session
      .exec(forgetScript(dir), { sudo: true, timeoutMs: EXEC_TIMEOUT_MS })
      .catch(() => undefined);
    return failedResult(applyFailure(host, this.prepared.input, outcome, ''));
  }

  /** The host's commit-confirmed state and facts over a new connection; none when cut short. */
  private async read(until: number): Promise<HostReading> {
    const read = await this.reconnections.exec(confirmStateScript(this.dir, this.facts, true), until);
    if (!read) return { kind: 'no-answer' };
    try {
      const confirm = parseConfirmState(read.stdout.toString('utf8'));
      const facts = parseFacts(this.name, this.host.spec, read.stdout);
      return { kind: 'answer', afterMs: Date.now() - this.sentAt, confirm, facts };
    } catch {
      return { kind: 'no-answer' }; // cut short: ask again
    }
  }

  private async verify(progress: Progress, { outcome, facts }: VerifyAction): Promise<Step> {
    const checks = verifyOutcome(this.host, outcome, facts, this.ctx.now);
    const context = { address: this.ctx.address, probes: this.ctx.probes, secret: this.ctx.secret };
    return onVerified(progress, await runChecks(checks, context), facts);
  }

  /** Ask the host for what verification wanted; the decision that holds comes back. */
  private async ask(progress: Progress, { want, facts }: AskAction, until: number): Promise<Step> {
    const decided = await this.reconnections.exec(decideScript(this.dir, want), until);
    const decision = decided && parseDecision(decided.stdout.toString('utf8'));
    return onDecision(progress, decision, facts);
  }

  /** The result of a final state. */
  private async result(action: FinalAction, until: number): Promise<ApplyResult> {
    const { host, prepared } = this;
    switch (action.kind) {
      case 'confirmed':
        return this.confirmed(action.facts);
      case 'rolled-back':
        return this.rolledBack(action.facts, action.confirm);
      case 'restored-by-apply':
        return {
          ...failedResult(applyFailure(host, prepared.input, action.outcome, '')),
          factsAfter: action.facts,
          notes: [this.note('the apply restored the previous files itself')],
        };
      case 'apply-failed':
        await this.reconnections.exec(forgetScript(this.dir), until);
        return failedResult(applyFailure(host, prepared.input, action.outcome, ''));
      case 'state-gone':
        return failedResult(
          new HostError(
            'apply',
            `${this.name}: the commit-confirmed state ${this.dir} is gone from the host; check it`,
          ),
        );
      case 'gave-up':
        return this.unknown();
    }
  }

  /** The host's rollback was cancelled: the change stands, verified with the facts read just now. */
  private confirmed(factsAfter: GatheredFacts): ApplyResult {
    const took = seconds(Date.now() - this.sentAt);
    return {
      status: 'changed',
      verification: this.progress.verification,
      factsAfter,
      rolledBack: false,
      notes: [this.note(`verified; confirmed after ${took} (rollback cancelled)`)],
    };
  }

  /** The host rolled back (by itself, or because verification failed): check that it all came back. */
  private async rolledBack(now: GatheredFacts, state: ConfirmState): Promise<ApplyResult> {
    const { host, ctx } = this;
    const { verification } = this.progress;
    const took = state.restored ? (state.restored.ended - state.restored.started).toFixed(1) : '?';
    const checks = restoredChecks(host, this.prepared.files, now, ctx.now);
    const restored = await runChecks(checks, {
      address: ctx.address,
      probes: ctx.probes,
      secret: ctx.secret,
    });
    const bad = restored.find((r) => !r.ok);
    const back = bad ? `the rollback is incomplete: ${bad.message}` : 'the previous files and state are back';
    const failedChecks = verification.some((v) => !v.ok);
    return {
      status: 'failed',
      error: new HostError(
        failedChecks ? 'verification' : 'unconfirmed',
        `${this.name}: ${this.rollbackWhy()}; the host rolled back${failedChecks ? '' : ' by itself'}; ${back}`,
      ),
      verification: [...verification, ...restored],
      factsAfter: now,
      rolledBack: true,
      notes: [this.note(`rolled back on the host (restore took ${took} s)`)],
    };
  }

  private rollbackWhy(): string {
    const { address, lastError } = this.reconnections;
    const window = `the ${this.ctx.confirmSeconds} s window`;
    switch (rollbackCause(this.progress)) {
      case 'verification-failed':
        return `verification failed: ${this.progress.verification.find((v) => !v.ok)?.message}`;
      case 'confirmed-too-late':
        return `the confirmation came after ${window}`;
      case 'no-connection':
        return `no new SSH connection over ${address} within ${window} (${lastError}; it answered again after ${seconds(this.progress.reconnectedAfterMs ?? 0)})`;
    }
  }

  private unknown(): ApplyResult {
    const { address, lastError } = this.reconnections;
    const waited = seconds(Date.now() - this.sentAt);
    const message = `${this.name}: no SSH connection over ${address} within the ${this.ctx.confirmSeconds} s window nor after the host's automatic rollback (waited ${waited}; ${lastError}); check it from its console`;
    return {
      status: 'unreachable',
      error: new HostError('unreachable', message),
      verification: this.progress.verification,
      rolledBack: false,
      notes: [this.note('gave up')],
    };
  }

  private note(what: string): string {
    const after = this.progress.reconnectedAfterMs;
    const address = this.reconnections.address;
    const connection =
      after === undefined
        ? `no new SSH connection over ${address}`
        : `a new SSH connection over ${address} after ${seconds(after)}`;
    return `commit-confirmed: rollback armed for ${this.ctx.confirmSeconds} s; ${connection}; ${what}`;
  }

  private async finish(result: ApplyResult): Promise<ApplyResult> {
    await this.reconnections.closeAll();
    return { ...result, moreSessions: this.reconnections.sessions.map((s) => s.stats) };
  }
}

type VerifyAction = Extract<NextAction, { kind: 'verify' }>;
type AskAction = Extract<NextAction, { kind: 'ask' }>;

const failedResult = (error: HostError): ApplyResult => ({
  status: 'failed',
  error,
  verification: [],
  rolledBack: false,
});

/** The recipes' checks once the apply has ended; an apply cut short in a handler fails them. */
function verifyOutcome(host: PreparedHost, outcome: ApplyOutcome, facts: GatheredFacts, now: Date) {
  const checks = outcome.kind === 'applied' ? verifyChecks(host, facts, now) : [];
  if (outcome.kind !== 'applied')
    checks.push({ kind: 'assert', ok: false, message: 'the apply did not finish' });
  return checks;
}
