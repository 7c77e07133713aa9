/**
 * Host key verification against known_hosts, on every connection (never off):
 * match -> go on; mismatch or revoked -> refuse; unknown -> refuse, unless trust on first use was
 * asked for (`--accept-new-host-keys`), in which case the key is recorded once the key exchange has
 * proved the server holds it.
 */
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { fingerprint, type KnownHosts, type KnownKey, keyTypeOf, knownHostsName } from './known-hosts.js';

/** Host key algorithms rpctl offers, best first (ssh2 supports them all). */
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

const keyTypeOfAlgorithm = (algorithm: string): string =>
  algorithm.startsWith('rsa-sha2-') ? 'ssh-rsa' : algorithm;

/**
 * The algorithms to offer a host: those of the key types already recorded for it first (as OpenSSH
 * orders HostKeyAlgorithms), so a known host is not reported unknown because it offered another
 * type it also has.
 */
export function hostKeyAlgorithms(known: readonly KnownKey[]): ServerHostKeyAlgorithm[] {
  const types = new Set(known.map((key) => key.keyType));
  const recorded = HOST_KEY_ALGORITHMS.filter((a) => types.has(keyTypeOfAlgorithm(a)));
  return [...recorded, ...HOST_KEY_ALGORITHMS.filter((a) => !recorded.includes(a))];
}

export interface HostKeyPolicy {
  knownHosts: KnownHosts;
  host: string;
  port: number;
  acceptNew: boolean;
  hash: boolean;
}

export type HostKeyFailureReason = 'host-key-mismatch' | 'host-key-unknown' | 'host-key-revoked';

/** Why a host key was refused; the message has no host-name prefix (the caller adds it). */
export interface HostKeyFailure {
  reason: HostKeyFailureReason;
  message: string;
}

export interface HostKeyOutcome {
  failure?: HostKeyFailure;
  /** a new key to record once the handshake has completed (trust on first use) */
  pendingRecord?: () => KnownKey;
  offered?: { keyType: string; fingerprint: string };
}

const where = (key: KnownKey) => `${key.file}:${key.line}`;

/** `ssh-keygen -R` command that removes a stale entry. */
function removeHint(host: string, port: number, files: string[]): string {
  const name = knownHostsName(host, port);
  return files.map((file) => `ssh-keygen -R '${name}' -f ${file}`).join('; ');
}

/** Check the key offered by the server and say whether to go on; details land in `outcome`. */
export function verifyHostKey(policy: HostKeyPolicy, keyBlob: Buffer, outcome: HostKeyOutcome): boolean {
  const { host, port } = policy;
  const keyType = keyTypeOf(keyBlob) ?? 'unknown';
  const offered = `${keyType} ${fingerprint(keyBlob)}`;
  outcome.offered = { keyType, fingerprint: fingerprint(keyBlob) };
  const result = policy.knownHosts.check(host, port, keyType, keyBlob);
  switch (result.status) {
    case 'match':
      return true;
    case 'revoked':
      outcome.failure = {
        reason: 'host-key-revoked',
        message: `${host}:${port} offered the revoked host key ${offered} (@revoked at ${where(result.key)}); refusing to connect`,
      };
      return false;
    case 'mismatch': {
      const expected = result.expected.map((k) => `${k.keyType} ${k.fingerprint} (${where(k)})`).join(', ');
      const files = [...new Set(result.expected.map((k) => k.file))];
      outcome.failure = {
        reason: 'host-key-mismatch',
        message:
          `host key mismatch for ${host}:${port}: it offered ${offered} but known_hosts has ${expected}; ` +
          `refusing to connect (if the appliance was rebuilt, remove the old key with: ${removeHint(host, port, files)})`,
      };
      return false;
    }
    case 'unknown':
      if (policy.acceptNew && policy.knownHosts.files.length > 0) {
        outcome.pendingRecord = () =>
          policy.knownHosts.add(host, port, keyType, keyBlob, { hash: policy.hash });
        return true;
      }
      outcome.failure = {
        reason: 'host-key-unknown',
        message:
          `the host key of ${host}:${port} (${offered}) is not in ${policy.knownHosts.files.join(', ') || 'any known_hosts file'}; ` +
          'check the fingerprint on the appliance, then rerun with --accept-new-host-keys to record it',
      };
      return false;
  }
}
