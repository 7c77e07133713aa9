/**
 * The TURN allocate probe: a real TURN Allocate with long-term credentials from the control
 * machine (the allocation is released at once). A check expects a relayed address (optionally a
 * given one) or a 401; `wrongPassword` sends a password that is certainly wrong, which proves the
 * server refuses bad credentials when the old password is not known.
 *
 *   TURN_ALLOCATE_PROBE.check({ port: 3478, username, password: ref, realm, expect: { outcome: 'unauthorized' },
 *     wrongPassword: true }, 'a wrong password is refused')
 */
import { randomBytes } from 'node:crypto';
import { defineProbe, type SecretRef } from '../../src/engine/contract.js';
import { turnAllocate } from './client/turn-client.js';

export interface TurnObservation {
  outcome: 'success' | 'unauthorized' | 'error';
  relayedAddress?: string;
  reason?: string;
}

export interface TurnAllocateParams {
  port: number;
  username: string;
  password: SecretRef;
  wrongPassword?: boolean;
  realm: string;
  /** success: a relayed address is granted (optionally this one); unauthorized: 401 */
  expect: { outcome: 'success'; relayedAddress?: string } | { outcome: 'unauthorized' };
}

export type TurnAllocation = (
  address: string,
  port: number,
  credentials: { username: string; password: string; realm: string },
) => Promise<TurnObservation>;

/** A real TURN Allocate; errors are an outcome, not a throw. */
export async function allocateOnce(
  address: string,
  port: number,
  credentials: { username: string; password: string; realm: string },
): Promise<TurnObservation> {
  try {
    // A TURN server that was just restarted may not listen yet: the client resends for a while.
    const result = await turnAllocate({ host: address, port, ...credentials, timeoutMs: 5000 });
    if (result.outcome === 'success') return { outcome: 'success', relayedAddress: result.relayedAddress };
    if (result.outcome === 'unauthorized') return { outcome: 'unauthorized' };
    return { outcome: 'error', reason: `${result.code} ${result.reason}` };
  } catch (err) {
    return { outcome: 'error', reason: err instanceof Error ? err.message : String(err) };
  }
}

/** A password that differs from `password` (and from any earlier wrong one of this process). */
function wrongPasswordFor(password: string): string {
  return `${password}-wrong-${randomBytes(4).toString('hex')}`;
}

/** The TURN allocate probe over `allocate` (tests pass a stand-in). */
export function turnAllocateProbeKind(allocate: TurnAllocation = allocateOnce) {
  return defineProbe<TurnAllocateParams>('turn-allocate', async (params, message, target) => {
    const password = target.secret(params.password);
    const seen = await allocate(target.address, params.port, {
      username: params.username,
      password: params.wrongPassword ? wrongPasswordFor(password) : password,
      realm: params.realm,
    });
    const expected = params.expect;
    const ok =
      seen.outcome === expected.outcome &&
      (expected.outcome !== 'success' ||
        expected.relayedAddress === undefined ||
        seen.relayedAddress === expected.relayedAddress);
    const got = seen.outcome === 'success' ? `relayed ${seen.relayedAddress}` : seen.outcome;
    return { ok, message: ok ? message : `${message}: got ${got}${seen.reason ? ` (${seen.reason})` : ''}` };
  });
}

export const TURN_ALLOCATE_PROBE = turnAllocateProbeKind();
