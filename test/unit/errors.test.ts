import { describe, expect, it } from 'vitest';
import { ExitCode, HostError } from '../../src/errors.js';

describe('HostError', () => {
  it('carries one of the known reasons and exits 1', () => {
    const err = new HostError('unreachable', 'rp1: cannot connect to 10.0.0.1:22: timed out');
    expect(err.reason).toBe('unreachable');
    expect(err.exitCode).toBe(ExitCode.failed);
  });

  it('does not compile with a reason that is not in HostErrorReason (tsc checks the tests)', () => {
    // @ts-expect-error: 'no-such-reason' is not a HostErrorReason
    const err = new HostError('no-such-reason', 'rp1: something');
    expect(err).toBeInstanceOf(HostError);
  });
});
