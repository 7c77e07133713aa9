/**
 * The install's reboot: the host keys the wizard generated, learnt before the reboot over the
 * session whose host key was verified, then recorded in known_hosts in place of the old ones;
 * and waiting for the appliance to come back.
 *
 * Why this is safe: the first-run wizard regenerates SSH host keys (every appliance of one image
 * starts with the same ones). rpctl reads the new public keys from /etc/ssh on the appliance
 * through the connection it already trusts, between "Rebooting." and the reboot, and after the
 * reboot accepts exactly those keys. Only this host's own entries change (every known_hosts file
 * the connection uses); both fingerprints are reported. When the keys could not be read in time,
 * the new key is refused as any changed key is, unless --accept-regenerated-host-key says to
 * record it for this host (the old entries are removed and the offered key is recorded).
 */
import { HostError } from '../errors.js';
import type { ApplianceConfig } from '../inventory/model.js';
import {
  appendKnownHost,
  fingerprint,
  KnownHosts,
  type KnownKey,
  keyTypeOf,
  removeHostEntries,
} from '../transport/known-hosts.js';
import { environment, planConnection } from '../transport/settings.js';
import { sh } from '../transport/shell.js';
import type { HostSession } from '../transport/types.js';

export interface PublicKey {
  keyType: string;
  keyBlob: Buffer;
}

export interface HostKeyChange {
  /** `ssh-ed25519 SHA256:...` */
  before: string[];
  after: string[];
  recordedIn: string;
}

const describe = (key: PublicKey) => `${key.keyType} ${fingerprint(key.keyBlob)}`;

/** `type base64 [comment]` lines of .pub files; anything else is ignored. */
export function parsePublicKeys(text: string): PublicKey[] {
  return text.split('\n').flatMap((line) => {
    const [keyType, base64] = line.trim().split(/\s+/);
    if (!keyType || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return [];
    const keyBlob = Buffer.from(base64, 'base64');
    return keyTypeOf(keyBlob) === keyType ? [{ keyType, keyBlob }] : [];
  });
}

/** The appliance's host keys as its sshd will serve them after the reboot (public halves only). */
export async function readHostKeys(session: HostSession): Promise<PublicKey[]> {
  const result = await session.exec(sh`cat /etc/ssh/ssh_host_*_key.pub`, { timeoutMs: 5000 });
  return parsePublicKeys(result.stdout.toString('utf8'));
}

function endpointOf(appliance: ApplianceConfig) {
  return planConnection(appliance, environment()).target;
}

/** The keys known_hosts has for the appliance now. */
export function knownKeys(appliance: ApplianceConfig): KnownKey[] {
  const target = endpointOf(appliance);
  return KnownHosts.load(target.knownHostsFiles).lookup(target.host, target.port);
}

/**
 * Make known_hosts hold exactly `keys` for this appliance: its own entries go from every file, the
 * keys are appended to the first. Undefined when nothing changed (the keys were already known).
 */
export function recordHostKeys(
  appliance: ApplianceConfig,
  keys: readonly PublicKey[],
): HostKeyChange | undefined {
  const target = endpointOf(appliance);
  const before = KnownHosts.load(target.knownHostsFiles).lookup(target.host, target.port);
  const same =
    before.length === keys.length &&
    keys.every((k) => before.some((b) => b.keyType === k.keyType && b.keyBlob.equals(k.keyBlob)));
  if (same) return undefined;
  const file = target.knownHostsFiles[0];
  if (file === undefined)
    throw new HostError(
      'host-key-unknown',
      `${appliance.name}: no known_hosts file to record its new host key in`,
    );
  for (const known of target.knownHostsFiles) removeHostEntries(known, target.host, target.port);
  for (const key of keys)
    appendKnownHost(file, target.host, target.port, key.keyType, key.keyBlob, {
      hash: target.hashKnownHosts,
    });
  return { before: before.map(describe), after: keys.map(describe), recordedIn: file };
}

/** Remove the appliance's own known_hosts entries (before trusting the key it offers). */
export function forgetHostKeys(appliance: ApplianceConfig): string[] {
  const target = endpointOf(appliance);
  return target.knownHostsFiles.flatMap((file) =>
    removeHostEntries(file, target.host, target.port).map((k) => `${k.keyType} ${k.fingerprint}`),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Worth another try while the appliance boots: nothing listens yet, or sshd is starting.
const TRANSIENT = new Set(['unreachable', 'handshake', 'connection', 'timeout']);

/** Connect again once the appliance is back; transient failures are retried until the deadline. */
export async function reconnectAfterReboot(
  connect: () => Promise<HostSession>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<HostSession> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await connect();
    } catch (err) {
      if (!(err instanceof HostError) || !TRANSIENT.has(err.reason)) throw err;
      last = err;
    }
    await sleep(options.intervalMs ?? 1000);
  }
  const why = last instanceof Error ? `; last attempt: ${last.message}` : '';
  throw new HostError(
    'reboot-timeout',
    `did not come back within ${options.timeoutMs / 1000} s of the reboot${why}`,
  );
}
