/** The engine runs any probe kind a concern registers, by name; it knows none itself. */
import { describe, expect, it } from 'vitest';
import { defineProbe } from '../../../src/engine/contract.js';
import { runChecks } from '../../../src/engine/verify.js';

describe('probe checks', () => {
  const echo = defineProbe<{ port: number }>('echo', async (params, message, target) => ({
    ok: params.port === 7,
    message: `${message} at ${target.address}:${params.port}`,
  }));
  const context = { address: '127.0.0.1', probes: new Map([[echo.name, echo]]), secret: () => '' };

  it('run a probe kind registered by name, with the target address', async () => {
    expect(await runChecks([echo.check({ port: 7 }, 'echo answers')], context)).toEqual([
      { ok: true, message: 'echo answers at 127.0.0.1:7' },
    ]);
  });

  it('fail a check whose probe kind nobody registered, or whose probe throws', async () => {
    const throwing = defineProbe('boom', async () => {
      throw new Error('no route to host');
    });
    const probes = new Map([[throwing.name, throwing]]);
    const results = await runChecks(
      [
        { kind: 'probe', probe: 'ntp', params: {}, message: 'ntp answers' },
        throwing.check({}, 'boom answers'),
      ],
      { ...context, probes },
    );
    expect(results).toEqual([
      { ok: false, message: 'ntp answers: no probe "ntp" is registered' },
      { ok: false, message: 'boom answers: no route to host' },
    ]);
  });
});
