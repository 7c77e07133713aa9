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
import { environment, planConnection } from '../transport/settings.js';
import { sh } from '../transport/shell.js';
import type { HostSession } from '../transport/types.js';
import type { InstallContext, InstallTarget } from './install-host.js';
import { InstallFailure } from './install-login.js';

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

function endpointOf(appliance: ApplianceConfig) {
  return planConnection(sshTarget(appliance), environment()).target;
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

/**
 * Connect after the reboot. A host key other than the recorded one is refused, unless
 * --accept-regenerated-host-key: then this host's old entries go and the offered key is recorded
 * (`hostKey` says which, both fingerprints).
 */
export async function reconnect(
  target: InstallTarget,
  ctx: InstallContext,
  asNew: ApplianceConfig,
  keysKnown: boolean,
  applied: string,
  bootBefore: string | undefined,
): Promise<{ session: HostSession; hostKey?: HostKeyChange }> {
  const { name } = target.appliance;
  const timeout = { timeoutMs: target.rebootTimeoutMs, ...(bootBefore ? { bootBefore } : {}) };
  try {
    return { session: await reconnectAfterReboot(() => ctx.connect(asNew), timeout) };
  } catch (err) {
    if (!(err instanceof HostError && err.reason === 'host-key-mismatch')) {
      const message =
        err instanceof HostError && err.reason === 'reboot-timeout'
          ? `${name}: ${err.message}`
          : (err as Error).message;
      throw new InstallFailure(err instanceof HostError ? err.reason : 'reconnect', message, applied);
    }
    if (!ctx.acceptRegeneratedHostKey) {
      const why = keysKnown
        ? 'it is not the key the wizard generated'
        : 'the keys the wizard generated could not be read before the reboot';
      throw new InstallFailure(
        'host-key-mismatch',
        `${err.message}; ${why}. Check the offered key on the appliance's console before trusting it (--accept-regenerated-host-key records it during an install)`,
        `${applied}; rpctl did not log in again, and known_hosts still has the old key`,
      );
    }
    const before = forgetHostKeys(target.appliance);
    const session = await reconnectAfterReboot(() => ctx.connect(asNew, { acceptNewHostKey: true }), timeout);
    const after = knownKeys(target.appliance);
    const hostKey = {
      before,
      after: after.map((k) => `${k.keyType} ${k.fingerprint}`),
      recordedIn: after[0]?.file ?? '',
      acceptedOnFlag: true,
    };
    ctx.log(
      name,
      `--accept-regenerated-host-key: replaced ${before.join(', ')} with the offered ${hostKey.after.join(', ')} in ${hostKey.recordedIn}`,
    );
    return { session, hostKey };
  }
}
