/**
 * The outcome of an apply whose SSH connection dropped. The apply script runs detached on the
 * appliance and keeps its output in a root-only directory per run until rpctl has read it:
 *
 *   /var/lib/rpctl/outcome/RUN/apply.out    what the apply printed (markers, then facts-after)
 *   /var/lib/rpctl/outcome/RUN/apply.done   the apply has ended
 *
 * An apply whose connection survives prints it and removes the directory in the same exec. When the
 * connection drops instead, rpctl opens ONE new connection, waits for `apply.done` (no longer than
 * the apply timeout, counted from when the apply was sent), reads the output, removes the directory
 * and goes on as usual (verification, rollback) over the new connection. No connection, a lost one,
 * no directory or an apply still running at the deadline: the outcome is unknown, and said so.
 * Directories rpctl never came back for are pruned like the backups (`backups.keep` runs).
 */
import { HostError } from '../errors.js';
import { type ShellCommand, sh } from '../transport/shell.js';
import type { HostSession } from '../transport/types.js';
import type { ApplyContext } from './apply-result.js';
import { Reconnections } from './reconnections.js';

export const OUTCOME_ROOT = '/var/lib/rpctl/outcome';
export const outcomeDir = (runId: string): string => `${OUTCOME_ROOT}/${runId}`;

const POLL_MS = 1000;

/** Print whether the run's apply has ended and, once it has, its output. */
export function outcomeReadScript(dir: string): ShellCommand {
  return sh`if [ ! -d ${dir} ]; then echo '@outcome missing'; elif [ -e ${`${dir}/apply.done`} ]; then echo '@outcome done'; cat ${`${dir}/apply.out`}; else echo '@outcome running'; fi`;
}

/** Remove the run's outcome directory once its output has been read. */
export const forgetOutcomeScript = (dir: string): ShellCommand => sh`rm -rf ${dir}`;

export type OutcomeRead =
  | { kind: 'done'; output: string }
  | { kind: 'running' }
  | { kind: 'missing' }
  /** no answer: no connection, or the read was cut short */
  | { kind: 'no-answer' };

export function parseOutcomeRead(stdout: string | undefined): OutcomeRead {
  if (stdout === undefined) return { kind: 'no-answer' };
  const [first, ...rest] = stdout.split('\n');
  if (first === '@outcome done') return { kind: 'done', output: rest.join('\n') };
  if (first === '@outcome running') return { kind: 'running' };
  if (first === '@outcome missing') return { kind: 'missing' };
  return { kind: 'no-answer' };
}

/** What to do after a read: use the output, read again later, or give up (the outcome is unknown). */
export type OutcomeStep =
  | { kind: 'read'; output: string }
  | { kind: 'wait' }
  | { kind: 'unknown'; cause: 'no-answer' | 'missing' | 'still-running' };

export function nextOutcomeStep(read: OutcomeRead, now: number, deadline: number): OutcomeStep {
  switch (read.kind) {
    case 'done':
      return { kind: 'read', output: read.output };
    case 'missing':
      return { kind: 'unknown', cause: 'missing' };
    case 'no-answer':
      return { kind: 'unknown', cause: 'no-answer' };
    case 'running':
      return now < deadline ? { kind: 'wait' } : { kind: 'unknown', cause: 'still-running' };
  }
}

/** The one-line error of an unknown outcome. */
export function unknownOutcome(
  cause: Extract<OutcomeStep, { kind: 'unknown' }>['cause'],
  details: {
    name: string;
    runId: string;
    lost: string;
    address: string;
    lastError: string;
    timeoutMs: number;
  },
): HostError {
  const { name, runId, lost, address, lastError, timeoutMs } = details;
  const why = {
    'no-answer': `reading it over a new SSH connection to ${address} failed (${lastError})`,
    missing: 'the appliance has no outcome of this run (the apply may not have started)',
    'still-running': `the apply was still running ${timeoutMs / 1000} s after it was sent`,
  }[cause];
  return new HostError(
    'outcome-unknown',
    `${name}: the connection dropped during the apply (${lost}) and ${why}: its outcome is unknown; check ${outcomeDir(runId)} on the appliance, then run plan`,
  );
}

/**
 * The apply exec failed with `reason`: how its outcome is known. A dropped connection is read
 * back over a new one; a timeout on a live connection leaves the detached apply running, so its
 * outcome is unknown (never "failed": it may still complete); anything else is the apply's error.
 */
export function afterApplyError(reason: string): 'reconnect' | 'unknown' | 'error' {
  if (reason === 'connection') return 'reconnect';
  return reason === 'timeout' ? 'unknown' : 'error';
}

/** The one-line error of an apply that outlived its timeout on a live connection. */
export function timedOutOutcome(name: string, runId: string, timeoutMs: number): HostError {
  return new HostError(
    'outcome-unknown',
    `${name}: the apply did not finish within ${timeoutMs / 1000} s and goes on on the appliance: its outcome is unknown; check ${outcomeDir(runId)} on the appliance, then run plan`,
  );
}

export type AfterReconnect =
  | { kind: 'read'; output: string; session: HostSession; reconnections: Reconnections; note: string }
  | { kind: 'unknown'; error: HostError; reconnections: Reconnections };

/**
 * The connection of `name`'s apply dropped (`lost` says how; the apply was sent at `sentAt`): read
 * its outcome over one new connection to `address`.
 */
export async function readOutcomeAfterReconnect(
  ctx: ApplyContext,
  target: { name: string; address: string; sentAt: number; lost: string },
): Promise<AfterReconnect> {
  const { name, address, sentAt, lost } = target;
  const dir = outcomeDir(ctx.runId);
  const reconnections = new Reconnections(ctx, address, { connections: 1 });
  const deadline = sentAt + ctx.applyTimeoutMs;
  for (;;) {
    const until = Math.max(deadline, Date.now() + 10_000);
    const result = await reconnections.exec(outcomeReadScript(dir), until);
    const session = reconnections.session;
    const step = nextOutcomeStep(parseOutcomeRead(result?.stdout.toString('utf8')), Date.now(), deadline);
    if (step.kind === 'read' && session) {
      await reconnections.exec(forgetOutcomeScript(dir), Date.now() + 10_000);
      const took = ((Date.now() - sentAt) / 1000).toFixed(1);
      const note = `the connection dropped during the apply (${lost}); its outcome was read after reconnecting over ${address}, ${took} s after the apply was sent`;
      return { kind: 'read', output: step.output, session, reconnections, note };
    }
    if (step.kind === 'unknown') {
      const { lastError } = reconnections;
      const details = { name, runId: ctx.runId, lost, address, lastError, timeoutMs: ctx.applyTimeoutMs };
      return { kind: 'unknown', error: unknownOutcome(step.cause, details), reconnections };
    }
    await new Promise((resolve) => setTimeout(resolve, ctx.confirmPollMs ?? POLL_MS));
  }
}
