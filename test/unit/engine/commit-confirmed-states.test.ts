/**
 * The transitions of commit-confirmed, one by one, without a host or a clock: what rpctl knows,
 * what the host says, and the state and action that follow. commit-confirmed.test.ts runs the
 * whole machine against a stand-in host; the lab test against real ones.
 */
import { describe, expect, it } from 'vitest';
import {
  armed,
  gaveUp,
  type HostReading,
  isFinal,
  onDecision,
  onReading,
  onVerified,
  type Progress,
  rollbackCause,
} from '../../../src/engine/commit-confirmed-states.js';
import type { ConfirmState } from '../../../src/engine/confirm-script.js';
import { GatheredFacts } from '../../../src/engine/facts.js';

const facts = new GatheredFacts(new Map(), new Map());
const b64 = (text: string) => Buffer.from(text).toString('base64');
const APPLIED = '@armed 10\n@applied\n@facts end\n';
const HANDLER_FAILED = `@armed 10\n@failed handler 0\n${b64('ifup: boom')}\n@restored\n`;

const answer = (confirm: Partial<ConfirmState>, afterMs = 1500): HostReading => ({
  kind: 'answer',
  afterMs,
  confirm: { missing: false, ...confirm },
  facts,
});
const at = (state: Progress['state'], more: Partial<Progress> = {}): Progress => ({
  ...armed(),
  state,
  reconnectedAfterMs: 1500,
  ...more,
});
const ok = { kind: 'assert' as const, ok: true, message: 'the network is healthy' };
const bad = { kind: 'assert' as const, ok: false, message: 'the gateway answers' };

describe('armed', () => {
  it('stays armed while no new connection answers', () => {
    expect(onReading(armed(), { kind: 'no-answer' })).toEqual({
      progress: armed(),
      action: { kind: 'wait' },
    });
  });

  it('-> reconnected on the first answer, remembering when; later answers keep that time', () => {
    const first = onReading(armed(), answer({}, 1500));
    expect(first).toEqual({ progress: at('reconnected'), action: { kind: 'wait' } });
    const later = onReading(first.progress, answer({}, 9000));
    expect(later.progress.reconnectedAfterMs).toBe(1500);
  });
});

describe('reconnected', () => {
  it('waits while the handlers still run (no apply output yet)', () => {
    expect(onReading(at('reconnected'), answer({})).action).toEqual({ kind: 'wait' });
  });

  it('verifies once the apply has ended, or ended in a handler (cut short: verification fails)', () => {
    const applied = onReading(at('reconnected'), answer({ applyOutput: APPLIED }));
    expect(applied.action).toEqual({ kind: 'verify', outcome: { kind: 'applied' }, facts });
    const handler = onReading(at('reconnected'), answer({ applyOutput: HANDLER_FAILED }));
    expect(handler.action).toMatchObject({ kind: 'verify', outcome: { kind: 'failed', stage: 'handler' } });
  });

  it('-> failed when the apply stopped before its handlers (stale, a step, validation)', () => {
    const stale = onReading(at('reconnected'), answer({ applyOutput: '@stale 2\n' }));
    expect(stale).toEqual({
      progress: at('failed'),
      action: { kind: 'apply-failed', outcome: { kind: 'stale', index: 2 } },
    });
    const step = onReading(
      at('reconnected'),
      answer({ applyOutput: `@failed validate 0\n${b64('nginx -t')}\n` }),
    );
    expect(step.progress.state).toBe('failed');
    expect(step.action).toMatchObject({ kind: 'apply-failed', outcome: { stage: 'validate' } });
  });

  it('-> failed when the apply restored by itself (a handler failed while the path held)', () => {
    const step = onReading(
      at('reconnected'),
      answer({ decision: 'restored-by-apply', applyOutput: HANDLER_FAILED }),
    );
    expect(step.progress.state).toBe('failed');
    expect(step.action).toMatchObject({ kind: 'restored-by-apply', facts, outcome: { stage: 'handler' } });
  });

  it('-> failed when the run directory is gone from the host', () => {
    expect(onReading(at('reconnected'), answer({ missing: true }))).toEqual({
      progress: at('failed'),
      action: { kind: 'state-gone' },
    });
  });
});

describe('verified', () => {
  it('-> verified asking to confirm when every check passed, to roll back when one failed', () => {
    expect(onVerified(at('reconnected'), [ok], facts)).toEqual({
      progress: at('verified', { wanted: 'confirmed', verification: [ok] }),
      action: { kind: 'ask', want: 'confirmed', facts },
    });
    expect(onVerified(at('reconnected'), [ok, bad], facts)).toMatchObject({
      progress: { state: 'verified', wanted: 'rollback' },
      action: { kind: 'ask', want: 'rollback' },
    });
  });

  it("asks again (without verifying again) when the host's answer was lost", () => {
    const verified = at('verified', { wanted: 'confirmed', verification: [ok] });
    expect(onReading(verified, answer({ applyOutput: APPLIED })).action).toEqual({
      kind: 'ask',
      want: 'confirmed',
      facts,
    });
  });

  it('the decision that holds: confirmed -> confirmed, rollback -> rolling-back, none -> read again', () => {
    const verified = at('verified', { wanted: 'confirmed', verification: [ok] });
    expect(onDecision(verified, 'confirmed', facts)).toEqual({
      progress: { ...verified, state: 'confirmed' },
      action: { kind: 'confirmed', facts },
    });
    // the timer won the race: the host rolls back whatever rpctl wanted
    expect(onDecision(verified, 'rollback', facts)).toEqual({
      progress: { ...verified, state: 'rolling-back' },
      action: { kind: 'wait' },
    });
    expect(onDecision(verified, undefined, facts)).toEqual({ progress: verified, action: { kind: 'wait' } });
  });
});

describe('rolling back, and decisions the host made first', () => {
  it('-> rolling-back while the rollback runs, -> rolled-back once it has', () => {
    const running = onReading(at('verified', { wanted: 'rollback' }), answer({ decision: 'rollback' }));
    expect(running).toMatchObject({ progress: { state: 'rolling-back' }, action: { kind: 'wait' } });
    const restored = { decision: 'rollback' as const, restored: { started: 100, ended: 100.4 } };
    const done = onReading(running.progress, answer(restored));
    expect(done.progress.state).toBe('rolled-back');
    expect(done.action).toMatchObject({ kind: 'rolled-back', facts, confirm: restored });
  });

  it("armed -> rolled-back directly: the host's timer ran out before any connection", () => {
    const step = onReading(
      armed(),
      answer({ decision: 'rollback', restored: { started: 1, ended: 2 } }, 70_000),
    );
    expect(step.progress).toMatchObject({ state: 'rolled-back', reconnectedAfterMs: 70_000 });
    expect(rollbackCause(step.progress)).toBe('no-connection');
  });

  it('-> confirmed whenever the host already holds a confirmation (the answer to ours was lost)', () => {
    expect(
      onReading(at('verified', { wanted: 'confirmed' }), answer({ decision: 'confirmed' })),
    ).toMatchObject({
      progress: { state: 'confirmed' },
      action: { kind: 'confirmed', facts },
    });
  });

  it('says why the host rolled back from what rpctl had wanted', () => {
    expect(rollbackCause(at('rolled-back', { wanted: 'rollback' }))).toBe('verification-failed');
    expect(rollbackCause(at('rolled-back', { wanted: 'confirmed' }))).toBe('confirmed-too-late');
    expect(rollbackCause(at('rolled-back'))).toBe('no-connection');
  });
});

describe('giving up', () => {
  it('any state -> unknown, keeping what verification found', () => {
    const verified = at('verified', { wanted: 'rollback', verification: [bad] });
    expect(gaveUp(verified)).toEqual({
      progress: { ...verified, state: 'unknown' },
      action: { kind: 'gave-up' },
    });
  });

  it('tells final actions from the ones that go on', () => {
    expect(isFinal({ kind: 'wait' })).toBe(false);
    expect(isFinal({ kind: 'ask', want: 'confirmed', facts })).toBe(false);
    expect(isFinal({ kind: 'verify', outcome: { kind: 'applied' }, facts })).toBe(false);
    expect(isFinal({ kind: 'gave-up' })).toBe(true);
    expect(isFinal({ kind: 'confirmed', facts })).toBe(true);
  });
});
