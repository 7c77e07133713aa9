/** The TLS probe (recipes/certificate/tls-probe.ts) over stand-in handshakes, run by the engine. */
import { describe, expect, it } from 'vitest';
import type { Check } from '../../../src/engine/contract.js';
import { runChecks } from '../../../src/engine/verify.js';
import { TLS_PROBE, type TlsHandshake, tlsProbeKind } from '../tls-probe.js';

const OLD = 'aa'.repeat(32);
const NEW = 'bb'.repeat(32);
const CHAIN = 'cc'.repeat(32);

/** A handshake that serves `served[i]` the i-th time (the last one from then on). */
function probes(served: string[][]): { tls: TlsHandshake; calls: number } {
  const fake = {
    calls: 0,
    async tls() {
      const chain = served[Math.min(fake.calls, served.length - 1)]!;
      fake.calls++;
      return { chain };
    },
  };
  return fake;
}

const check: Check = TLS_PROBE.check(
  {
    port: 443,
    servername: 'rp1.example.com',
    expectFingerprint256: NEW.toUpperCase().replace(/(..)(?!$)/g, '$1:'),
    expectChain: [CHAIN],
  },
  'nginx serves the new certificate',
);
const context = (p: { tls: TlsHandshake }, tlsSettleMs = 2000) => ({
  address: '127.0.0.1',
  probes: new Map([['tls', tlsProbeKind(p.tls, tlsSettleMs)]]),
  secret: () => '',
});

describe('TLS checks', () => {
  it('probe again until the new certificate is served (nginx reloads after `service nginx reload` returns)', async () => {
    const p = probes([[OLD], [OLD], [NEW, CHAIN]]);
    expect(await runChecks([check], context(p))).toEqual([
      { ok: true, message: 'nginx serves the new certificate' },
    ]);
    expect(p.calls).toBe(3);
  });

  it('fail once the settle time is over, saying what is served', async () => {
    const p = probes([[OLD, CHAIN]]);
    const started = Date.now();
    const [result] = await runChecks([check], context(p, 300));
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(p.calls).toBeGreaterThan(1);
    expect(result).toEqual({
      ok: false,
      message: `nginx serves the new certificate: served ${OLD.slice(0, 16)}…`,
    });
  });

  it('fail when the leaf is right but the chain is not', async () => {
    const [result] = await runChecks([check], context(probes([[NEW, OLD]]), 0));
    expect(result).toEqual({
      ok: false,
      message: `nginx serves the new certificate: served chain ${OLD.slice(0, 16)}…`,
    });
  });

  it('report a failed handshake as the reason', async () => {
    const failing = {
      tls: async () => {
        throw new Error('TLS handshake with 127.0.0.1:443 failed: ECONNREFUSED');
      },
    };
    const [result] = await runChecks([check], context(failing, 0));
    expect(result?.message).toBe(
      'nginx serves the new certificate: TLS handshake with 127.0.0.1:443 failed: ECONNREFUSED',
    );
  });
});
