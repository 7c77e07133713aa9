/**
 * A host that regenerates its SSH host keys and reboots: its new host keys, learnt before the
 * reboot over the session whose host key was verified, then recorded in known_hosts in place of
 * the old ones (re-keying); and waiting for a new boot of the host to answer.
 *
 * Why this is safe: the new public keys are read from /etc/ssh through the connection rpctl
 * already trusts, before the reboot, and after the reboot exactly those keys are accepted. Only
 * this host's own entries change (every known_hosts file the connection uses); both fingerprints
 * are reported. `rpctl install` uses it after the first-run wizard (src/cli/install-host.ts).
 */
import { sshTarget } from '../engine/ssh-target.js';
import { HostError } from '../errors.js';
import type { ApplianceConfig } from '../inventory/model.js';
import {
  appendKnownHost,
  fingerprint,
  KnownHosts,
  type KnownKey,
  keyTypeOf,
} from '../transport/known-hosts.js';
import { ownHostKeys, removeHostEntries } from '../transport/known-hosts-edit.js';
import { environment, hostKeyName, planConnection } from '../transport/settings.js';
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
  /** old keys still trusted through lines that name other hosts too */
  stillTrusted?: string[];
  /** recorded on --accept-regenerated-host-key, not learnt over the verified session */
  acceptedOnFlag?: boolean;
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
  // As root: an image may keep even the public halves to root.
  const result = await session.exec(sh`cat /etc/ssh/ssh_host_*_key.pub`, { sudo: true, timeoutMs: 5000 });
  return parsePublicKeys(result.stdout.toString('utf8'));
}

/** The appliance's known_hosts files, and the host and port its keys are filed under (HostKeyAlias). */
function endpointOf(appliance: ApplianceConfig) {
  const target = planConnection(sshTarget(appliance), environment()).target;
  return { ...target, ...hostKeyName(target) };
}

/** The keys known_hosts has for the appliance now. */
export function knownKeys(appliance: ApplianceConfig): KnownKey[] {
  const target = endpointOf(appliance);
  return KnownHosts.load(target.knownHostsFiles).lookup(target.host, target.port);
}

/**
 * Make known_hosts trust exactly `keys` for this appliance: its own entries go from every file and
 * the keys are appended to the first. Undefined when that is already so. `stillTrusted` lists old
 * keys that lines naming other hosts too (or wildcards) keep trusting: the user's to edit.
 */
export function recordHostKeys(
  appliance: ApplianceConfig,
  keys: readonly PublicKey[],
): HostKeyChange | undefined {
  const target = endpointOf(appliance);
  const files = target.knownHostsFiles;
  const all = KnownHosts.load(files).lookup(target.host, target.port);
  const own = files.flatMap((f) => ownHostKeys(f, target.host, target.port));
  const has = (list: readonly PublicKey[], k: PublicKey) =>
    list.some((b) => b.keyType === k.keyType && b.keyBlob.equals(k.keyBlob));
  const staleOwn = own.filter((o) => !has(keys, o));
  const missing = keys.filter((k) => !has(all, k));
  if (staleOwn.length === 0 && missing.length === 0) return undefined;
  const file = files[0];
  if (file === undefined)
    throw new HostError(
      'host-key-unknown',
      `${appliance.name}: no known_hosts file to record its new host key in`,
    );
  for (const known of files) removeHostEntries(known, target.host, target.port);
  for (const key of keys)
    appendKnownHost(file, target.host, target.port, key.keyType, key.keyBlob, {
      hash: target.hashKnownHosts,
    });
  const stillTrusted = all
    .filter((b) => !has(keys, b) && !has(own, b))
    .map((k) => `${describe(k)} (${k.file}:${k.line})`);
  return {
    before: all.map(describe),
    after: keys.map(describe),
    recordedIn: file,
    ...(stillTrusted.length > 0 ? { stillTrusted } : {}),
  };
}

/** Remove the appliance's own known_hosts entries (before trusting the key it offers). */
export function forgetHostKeys(appliance: ApplianceConfig): string[] {
  const target = endpointOf(appliance);
  return target.knownHostsFiles.flatMap((file) =>
    removeHostEntries(file, target.host, target.port).map((k) => `${k.keyType} ${k.fingerprint}`),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What tells one boot of a host from the next: the kernel's boot id, and PID 1's start time (a
 * container's reboot, as in the lab, keeps the kernel). Read-only, no sudo.
 */
const BOOT_IDENTITY = sh`cat /proc/sys/kernel/random/boot_id && cut -d ' ' -f 22 /proc/1/stat`;

/** The host's boot identity, or undefined when it cannot be read (then boots are not told apart). */
export async function bootIdentity(session: HostSession): Promise<string | undefined> {
  const result = await session.exec(BOOT_IDENTITY, { timeoutMs: 10_000 });
  const text = result.stdout.toString('utf8').trim().replace(/\s+/g, ' ');
  return result.code === 0 && /^\S+ \d+$/.test(text) ? text : undefined;
}

// Worth another try while the appliance boots: nothing listens yet, or sshd is starting; or the
// connection reached the system that was going down.
const TRANSIENT = new Set(['unreachable', 'handshake', 'connection', 'timeout', 'still-going-down']);

/**
 * Connect again once the appliance is back; transient failures are retried until the deadline.
 * With `bootBefore`, a session on that same boot (the old system, not yet down) is closed and
 * retried: the reboot may come a moment after the wizard's session ended.
 */
export async function reconnectAfterReboot(
  connect: () => Promise<HostSession>,
  options: { timeoutMs: number; intervalMs?: number; bootBefore?: string },
): Promise<HostSession> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const session = await connect();
      if (options.bootBefore === undefined) return session;
      try {
        if ((await bootIdentity(session)) !== options.bootBefore) return session;
        throw new HostError('still-going-down', 'it answered, but had not rebooted yet');
      } catch (err) {
        await session.close().catch(() => {});
        throw err;
      }
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
