/**
 * A real TLS handshake with SNI from the control machine: what a server serves, whatever the trust
 * store says. Probes and reports compare it with what they expect.
 */
import { connect as tlsConnect } from 'node:tls';

export interface TlsObservation {
  /** hex sha256 of the certificates the server sent, leaf first */
  chain: string[];
  /** the leaf's expiry (ISO 8601) */
  notAfter?: string;
}

const hex = (fingerprint: string) => fingerprint.replaceAll(':', '').toLowerCase();

/** A real TLS handshake with SNI; what is served, whatever the trust store says. */
export function tlsHandshake(
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
