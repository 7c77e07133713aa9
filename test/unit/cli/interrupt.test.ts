import { afterEach, describe, expect, it } from 'vitest';
import { ApplyInterrupt } from '../../../src/cli/interrupt.js';

describe('signals during apply', () => {
  let interrupt: ApplyInterrupt | undefined;
  afterEach(() => interrupt?.stop());

  it('the first signal names the hosts already applying; the second leaves with their outcome unknown', () => {
    let stderr = '';
    const left: [string[], number][] = [];
    interrupt = new ApplyInterrupt({ write: (text) => (stderr += text) }, (hosts, code) =>
      left.push([hosts, code]),
    );
    interrupt.listen();
    const events = interrupt.track({});
    events.phase?.('rp1', 'applying');
    events.phase?.('rp2', 'applying');
    events.phase?.('rp2', 'done');
    expect(interrupt.requested).toBe(false);
    process.emit('SIGTERM');
    expect(interrupt.requested).toBe(true);
    expect(interrupt.exitCode).toBe(143);
    expect(stderr).toBe(
      'rpctl: SIGTERM: the change already started on 1 host (rp1) will finish there; waiting for its outcome, no other host is started (SIGTERM again leaves at once, the outcome unknown)\n',
    );
    expect(left).toEqual([]);
    process.emit('SIGINT');
    expect(left).toEqual([[['rp1'], 143]]);
  });

  it('stops listening once the outcome is known', () => {
    interrupt = new ApplyInterrupt({ write: () => {} }, () => {});
    const before = process.listenerCount('SIGINT');
    interrupt.listen();
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    interrupt.stop();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
