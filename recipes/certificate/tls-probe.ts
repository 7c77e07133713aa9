/**
 * The TLS probe: a real handshake with SNI from the control machine, comparing what nginx serves
 * with the certificates a check expects. `service nginx reload` returns once nginx is signalled,
 * before its new workers answer, so the probe keeps trying for a few seconds.
 *
 *   TLS_PROBE.check({ port: 443, servername: 'rp1.example.com', expectFingerprint256 }, 'serves it')
 */
import {
  type CheckResult,
  defineProbe,
  type TlsObservation,
  tlsHandshake,
} from '../../src/engine/contract.js';

export { type TlsObservation, tlsHandshake };

export interface TlsParams {
  port: number;
  servername: string;
  /** hex SHA-256 of the leaf certificate that must be served */
  expectFingerprint256: string;
  /** hex SHA-256 fingerprints of the chain that must follow the leaf, in order */
  expectChain?: readonly string[];
}

export type TlsHandshake = (address: string, port: number, servername: string) => Promise<TlsObservation>;

const hex = (fingerprint: string) => fingerprint.replaceAll(':', '').toLowerCase();

export const TLS_SETTLE_MS = 5000;
const TLS_RETRY_MS = 200;

async function observeOnce(
  handshake: TlsHandshake,
  address: string,
  params: TlsParams,
  message: string,
): Promise<CheckResult> {
  try {
    const seen = await handshake(address, params.port, params.servername);
    const leafOk = seen.chain[0] === hex(params.expectFingerprint256);
    const chainOk = !params.expectChain || params.expectChain.every((fp, i) => seen.chain[i + 1] === hex(fp));
    const served = leafOk
      ? `served chain ${
          seen.chain
            .slice(1)
            .map((fp) => `${fp.slice(0, 16)}…`)
            .join(', ') || '(none)'
        }`
      : `served ${seen.chain[0]?.slice(0, 16) ?? 'nothing'}…`;
    return { ok: leafOk && chainOk, message: leafOk && chainOk ? message : `${message}: ${served}` };
  } catch (err) {
    return { ok: false, message: `${message}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The TLS probe over `handshake` (tests pass a stand-in), retrying for `settleMs`. */
export function tlsProbeKind(handshake: TlsHandshake = tlsHandshake, settleMs = TLS_SETTLE_MS) {
  return defineProbe<TlsParams>('tls', async (params, message, target) => {
    const deadline = Date.now() + settleMs;
    for (;;) {
      const result = await observeOnce(handshake, target.address, params, message);
      if (result.ok || Date.now() >= deadline) return result;
      await new Promise((resolve) => setTimeout(resolve, TLS_RETRY_MS));
    }
  });
}

export const TLS_PROBE = tlsProbeKind();
