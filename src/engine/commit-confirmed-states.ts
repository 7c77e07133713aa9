/**
 * Commit-confirmed as a state machine: the states rpctl goes through after sending an apply whose
 * handlers may cut its SSH path, and one small pure function per transition. Each takes where rpctl
 * stands and what the host just said, and returns the next state and what to do about it;
 * commit-confirmed.ts does it (reads, verification, decisions) and builds the result.
 *
 *   armed ──the host answers──> reconnected ──the apply has ended──> (verify) ──> verified
 *     └ no answer: stays         └ handlers still running: stays                   │
 *                                                                                  │ ask the host for
 *   verified ──host: confirmed──> confirmed            (verification passed: confirm; failed: roll back)
 *   verified ──host: rollback──> rolling-back ──restored──> rolled-back
 *
 *   from any state, the host may have decided first: its timer rolled back (rolling-back,
 *   rolled-back), a late confirmation already holds (confirmed), the apply failed before its
 *   handlers or restored by itself (failed), the state is gone (failed). No answer until the window
 *   and the rollback allowance are over: unknown.
 */
import { type ApplyOutcome, parseApplyOutput } from './apply-script.js';
import type { ConfirmState, Decision } from './confirm-script.js';
import type { GatheredFacts } from './facts.js';
import type { CheckResult } from './verify.js';

export type ConfirmStateName =
  | 'armed'
  | 'reconnected'
  | 'verified'
  | 'rolling-back'
  // final
  | 'confirmed'
  | 'rolled-back'
  | 'failed'
  | 'unknown';

/** Where a commit-confirmed apply stands, as far as rpctl knows. */
export interface Progress {
  state: ConfirmStateName;
  /** when a new connection first answered, in ms after the apply was sent */
  reconnectedAfterMs?: number;
  /** what verification asked the host for, once it ran */
  wanted?: 'confirmed' | 'rollback';
  verification: CheckResult[];
}

/** One reading of the host's commit-confirmed state over a new connection. */
export type HostReading =
  | { kind: 'no-answer' }
  | { kind: 'answer'; afterMs: number; confirm: ConfirmState; facts: GatheredFacts };

type FailedApply = Exclude<ApplyOutcome, { kind: 'applied' }>;

/** What to do next: read again, verify, ask the host for a decision. */
export type NextAction =
  | { kind: 'wait' }
  | { kind: 'verify'; outcome: ApplyOutcome; facts: GatheredFacts }
  | { kind: 'ask'; want: 'confirmed' | 'rollback'; facts: GatheredFacts };

/** How the apply ended, in a final state. */
export type FinalAction =
  | { kind: 'confirmed'; facts: GatheredFacts }
  | { kind: 'rolled-back'; facts: GatheredFacts; confirm: ConfirmState }
  | { kind: 'restored-by-apply'; facts: GatheredFacts; outcome: FailedApply }
  | { kind: 'apply-failed'; outcome: FailedApply }
  | { kind: 'state-gone' }
  | { kind: 'gave-up' };

export type Action = NextAction | FinalAction;

export function isFinal(action: Action): action is FinalAction {
  return action.kind !== 'wait' && action.kind !== 'verify' && action.kind !== 'ask';
}

export interface Step {
  progress: Progress;
  action: Action;
}

const WAIT: Action = { kind: 'wait' };
const go = (progress: Progress, state: ConfirmStateName, action: Action): Step => ({
  progress: { ...progress, state },
  action,
});

/** The apply went out with the rollback armed (or its connection was cut, which may mean the same). */
export const armed = (): Progress => ({ state: 'armed', verification: [] });

/** A reading of the host's state, whatever state rpctl is in. */
export function onReading(progress: Progress, reading: HostReading): Step {
  if (reading.kind === 'no-answer') return { progress, action: WAIT };
  const seen = reconnected(progress, reading.afterMs);
  const { confirm, facts } = reading;
  if (confirm.missing) return go(seen, 'failed', { kind: 'state-gone' });
  if (confirm.decision !== undefined) return decided(seen, confirm.decision, confirm, facts);
  return undecided(seen, confirm, facts);
}

/** armed -> reconnected, the first time the host answers over a new connection. */
export function reconnected(progress: Progress, afterMs: number): Progress {
  if (progress.reconnectedAfterMs !== undefined) return progress;
  const state = progress.state === 'armed' ? 'reconnected' : progress.state;
  return { ...progress, state, reconnectedAfterMs: afterMs };
}

/** The host holds a decision (ours, its timer's, or the apply's own restore). */
function decided(progress: Progress, decision: Decision, confirm: ConfirmState, facts: GatheredFacts): Step {
  if (decision === 'confirmed') return go(progress, 'confirmed', { kind: 'confirmed', facts });
  if (decision === 'restored-by-apply') {
    const outcome = parseApplyOutput(confirm.applyOutput ?? '') as FailedApply;
    return go(progress, 'failed', { kind: 'restored-by-apply', facts, outcome });
  }
  if (!confirm.restored) return go(progress, 'rolling-back', WAIT);
  return go(progress, 'rolled-back', { kind: 'rolled-back', facts, confirm });
}

/** No decision yet: the handlers are still running, or the apply has ended and rpctl decides. */
function undecided(progress: Progress, confirm: ConfirmState, facts: GatheredFacts): Step {
  if (confirm.applyOutput === undefined) return { progress, action: WAIT };
  const outcome = parseApplyOutput(confirm.applyOutput);
  if (outcome.kind === 'stale' || (outcome.kind === 'failed' && outcome.stage !== 'handler'))
    return go(progress, 'failed', { kind: 'apply-failed', outcome });
  // applied, or cut short in a handler (then verification fails and the rollback runs now)
  if (progress.wanted === undefined) return { progress, action: { kind: 'verify', outcome, facts } };
  return { progress, action: { kind: 'ask', want: progress.wanted, facts } }; // the answer was lost
}

/** reconnected -> verified: what verification found decides what rpctl asks the host for. */
export function onVerified(progress: Progress, verification: CheckResult[], facts: GatheredFacts): Step {
  const wanted = verification.every((v) => v.ok) ? 'confirmed' : 'rollback';
  return go({ ...progress, wanted, verification }, 'verified', { kind: 'ask', want: wanted, facts });
}

/** The host's answer to rpctl's decision: the one that holds (a timer may have decided first). */
export function onDecision(progress: Progress, decision: Decision | undefined, facts: GatheredFacts): Step {
  if (decision === 'confirmed') return go(progress, 'confirmed', { kind: 'confirmed', facts });
  if (decision === 'rollback') return go(progress, 'rolling-back', WAIT);
  return { progress, action: WAIT }; // the answer was lost: read again
}

/** Any state -> unknown: no answer within the window and the time the host may take to roll back. */
export const gaveUp = (progress: Progress): { progress: Progress; action: FinalAction } => ({
  progress: { ...progress, state: 'unknown' },
  action: { kind: 'gave-up' },
});

/** Why the host rolled back, from what rpctl had decided by then. */
export type RollbackCause = 'verification-failed' | 'confirmed-too-late' | 'no-connection';

export function rollbackCause(progress: Progress): RollbackCause {
  if (progress.wanted === 'rollback') return 'verification-failed';
  if (progress.wanted === 'confirmed') return 'confirmed-too-late';
  return 'no-connection';
}
