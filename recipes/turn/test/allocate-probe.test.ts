/** The TURN allocate probe over a stand-in allocation: what it sends to a TURN server. */
import { describe, expect, it } from 'vitest';
import type { Check } from '../../../src/engine/contract.js';
import { runChecks } from '../../../src/engine/verify.js';
import type { SecretRef } from '../../../src/inventory/model.js';
import { TURN_ALLOCATE_PROBE, type TurnAllocation, turnAllocateProbeKind } from '../allocate-probe.js';

const ref: SecretRef = { kind: 'env', name: 'TURN' };
const PASSWORD = 'the-password';

describe('turn-allocate checks', () => {
  it('send the password, or with wrongPassword one that is certainly not it, and compare outcomes', async () => {
    const sent: string[] = [];
    const allocate: TurnAllocation = async (_address, _port, credentials) => {
      sent.push(credentials.password);
      return credentials.password === PASSWORD
        ? { outcome: 'success', relayedAddress: '203.0.113.5' }
        : { outcome: 'unauthorized' };
    };
    const probes = new Map([['turn-allocate', turnAllocateProbeKind(allocate)]]);
    const base = { port: 3478, username: 'pexip', password: ref, realm: 'r' } as const;
    const checks: Check[] = [
      TURN_ALLOCATE_PROBE.check(
        { ...base, expect: { outcome: 'success', relayedAddress: '203.0.113.5' } },
        'new credentials work',
      ),
      TURN_ALLOCATE_PROBE.check(
        { ...base, wrongPassword: true, expect: { outcome: 'unauthorized' } },
        'a wrong password is refused',
      ),
    ];
    const results = await runChecks(checks, { address: '127.0.0.1', probes, secret: () => PASSWORD });
    expect(results).toEqual([
      { ok: true, message: 'new credentials work' },
      { ok: true, message: 'a wrong password is refused' },
    ]);
    expect(sent[0]).toBe(PASSWORD);
    expect(sent[1]).not.toBe(PASSWORD);
  });
});
