/**
 * Verification after an apply: a recipe states what must be true as Checks; assertions are decided
 * by the recipe itself, probes (a real TLS handshake, a real TURN allocation) are run here, from
 * the control machine to the appliance's address, because a recipe never opens a socket.
 */
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { turnAllocate } from '../../recipes/turn/client/turn-client.js';
import type { SecretRef } from '../inventory/model.js';
import type { Check } from './contract.js';

export interface CheckResult {
  ok: boolean;
  message: string;
}

export interface TlsObservation {
  /** hex sha256 of the certificates the server sent, leaf first */
  chain: string[];
  /** the leaf's expiry (ISO 8601) */
  notAfter?: string;
}

export interface TurnObservation {
  outcome: 'success' | 'unauthorized' | 'error';
  relayedAddress?: string;
  reason?: string;
}

export interface Probes {
  tls(address: string, port: number, servername: string): Promise<TlsObservation>;
  turnAllocate(
    address: string,
    port: number,
    credentials: { username: string; password: string; realm: string },
  ): Promise<TurnObservation>;
}

const hex = (fingerprint: string) => fingerprint.replaceAll(':', '').toLowerCase();

/** A real TLS handshake with SNI; what is served, whatever the trust store says. */
export function tlsProbe(
  address: string,
  port: number,
  servername: string,
  timeoutMs = 10_000,
): Promise<TlsObservation> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port, servername, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS handshake with ${address}:${port} timed out`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const chain: string[] = [];
      let cert = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert?.fingerprint256 && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push(hex(cert.fingerprint256));
        cert = cert.issuerCertificate;
      }
      const leaf = socket.getPeerCertificate();
      socket.end();
      resolve({ chain, ...(leaf?.valid_to ? { notAfter: new Date(leaf.valid_to).toISOString() } : {}) });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`TLS handshake with ${address}:${port} failed: ${err.message}`));
    });
  });
}

/** A real TURN Allocate with long-term credentials; the allocation is released at once. */
export async function turnProbe(
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

export const defaultProbes: Probes = { tls: tlsProbe, turnAllocate: turnProbe };

export interface CheckContext {
  address: string;
  probes: Probes;
  secret(ref: SecretRef): string;
  /**
   * How long a TLS check keeps probing until the expected certificate is served. `service nginx
   * reload` returns once nginx is signalled, before its new workers answer; default 5 s.
   */
  tlsSettleMs?: number;
}

export const TLS_SETTLE_MS = 5000;
const TLS_RETRY_MS = 200;

type TlsCheck = Extract<Check, { kind: 'tls' }>;

async function checkTls(check: TlsCheck, context: CheckContext): Promise<CheckResult> {
  const deadline = Date.now() + (context.tlsSettleMs ?? TLS_SETTLE_MS);
  for (;;) {
    let result: CheckResult;
    try {
      const seen = await context.probes.tls(context.address, check.port, check.servername);
      const leafOk = seen.chain[0] === hex(check.expectFingerprint256);
      const chainOk = !check.expectChain || check.expectChain.every((fp, i) => seen.chain[i + 1] === hex(fp));
      const served = leafOk
        ? `served chain ${
            seen.chain
              .slice(1)
              .map((fp) => `${fp.slice(0, 16)}…`)
              .join(', ') || '(none)'
          }`
        : `served ${seen.chain[0]?.slice(0, 16) ?? 'nothing'}…`;
      result = {
        ok: leafOk && chainOk,
        message: leafOk && chainOk ? check.message : `${check.message}: ${served}`,
      };
    } catch (err) {
      result = {
        ok: false,
        message: `${check.message}: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
    if (result.ok || Date.now() >= deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, TLS_RETRY_MS));
  }
}

export async function runChecks(checks: readonly Check[], context: CheckContext): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    if (check.kind === 'assert') {
      results.push({ ok: check.ok, message: check.message });
      continue;
    }
    if (check.kind === 'tls') {
      results.push(await checkTls(check, context));
      continue;
    }
    try {
      const password = context.secret(check.password);
      const seen = await context.probes.turnAllocate(context.address, check.port, {
        username: check.username,
        password: check.wrongPassword ? wrongPasswordFor(password) : password,
        realm: check.realm,
      });
      const expected = check.expect;
      const ok =
        seen.outcome === expected.outcome &&
        (expected.outcome !== 'success' ||
          expected.relayedAddress === undefined ||
          seen.relayedAddress === expected.relayedAddress);
      const got = seen.outcome === 'success' ? `relayed ${seen.relayedAddress}` : seen.outcome;
      results.push({
        ok,
        message: ok ? check.message : `${check.message}: got ${got}${seen.reason ? ` (${seen.reason})` : ''}`,
      });
    } catch (err) {
      results.push({
        ok: false,
        message: `${check.message}: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  return results;
}
