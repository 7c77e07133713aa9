/**
 * Host keys across the install's reboot: reading the regenerated public keys, replacing only this
 * host's known_hosts entries, reconnecting while the appliance boots (src/cli/install-reboot.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bootIdentity,
  parsePublicKeys,
  reconnectAfterReboot,
  recordHostKeys,
} from '../../src/cli/install-reboot.js';
import { HostError } from '../../src/errors.js';
import { fingerprint, KnownHosts } from '../../src/transport/known-hosts.js';
import { removeHostEntries } from '../../src/transport/known-hosts-edit.js';
import type { HostSession } from '../../src/transport/types.js';
import { applianceToInstall } from './install-fixtures.js';
import { tempDir } from './support/helpers.js';

/** An ed25519 public key line as ssh-keygen writes it (random key material; only its form matters). */
function publicKeyLine(comment = 'root@proxy'): string {
  const sshString = (data: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, data.length]), data]);
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(randomBytes(32))]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

describe('parsePublicKeys', () => {
  it('reads .pub lines and skips anything that is not a key of its stated type', () => {
    const line = publicKeyLine();
    const keys = parsePublicKeys(`${line}\nnot a key\nssh-rsa ${line.split(' ')[1]}\n`);
    expect(keys.map((k) => k.keyType)).toEqual(['ssh-ed25519']);
  });
});

describe('known_hosts across the reboot', () => {
  it("replaces this host's own entries only, keeping other lines byte for byte", () => {
    const dir = tempDir();
    const file = join(dir, 'known_hosts');
    const [old, other, shared, fresh] = [publicKeyLine(), publicKeyLine(), publicKeyLine(), publicKeyLine()];
    const text = `# fleet\n198.51.100.130 ${old}\n198.51.100.131 ${other}\n198.51.100.130,proxy ${shared}\n`;
    writeFileSync(file, text, { mode: 0o600 });
    const appliance = applianceToInstall({}, { ssh: { host: '198.51.100.130', knownHosts: [file] } });
    const change = recordHostKeys(appliance, parsePublicKeys(fresh));
    const freshKey = parsePublicKeys(fresh)[0]!;
    expect(change).toEqual({
      before: [
        `ssh-ed25519 ${fingerprint(parsePublicKeys(old)[0]!.keyBlob)}`,
        `ssh-ed25519 ${fingerprint(parsePublicKeys(shared)[0]!.keyBlob)}`,
      ],
      after: [`ssh-ed25519 ${fingerprint(freshKey.keyBlob)}`],
      recordedIn: file,
      // a line naming another host too is the user's: reported, not edited
      stillTrusted: [`ssh-ed25519 ${fingerprint(parsePublicKeys(shared)[0]!.keyBlob)} (${file}:4)`],
    });
    expect(readFileSync(file, 'utf8')).toBe(
      `# fleet\n198.51.100.131 ${other}\n198.51.100.130,proxy ${shared}\n198.51.100.130 ${fresh.split(' ').slice(0, 2).join(' ')}\n`,
    );
    const check = KnownHosts.load([file]).check('198.51.100.130', 22, 'ssh-ed25519', freshKey.keyBlob);
    expect(check.status).toBe('match');
    // the same keys again: nothing to change
    expect(recordHostKeys(appliance, [freshKey])).toBeUndefined();
  });

  it('removes hashed entries of the host too', () => {
    const dir = tempDir();
    const file = join(dir, 'known_hosts');
    const appliance = applianceToInstall(
      {},
      { ssh: { host: 'rp1.example.com', port: 2222, knownHosts: [file] } },
    );
    writeFileSync(file, '');
    recordHostKeys(appliance, parsePublicKeys(publicKeyLine()));
    const hashed = readFileSync(file, 'utf8');
    expect(hashed).toMatch(/^\[rp1.example.com\]:2222 ssh-ed25519 /);
    expect(removeHostEntries(file, 'rp1.example.com', 2222)).toHaveLength(1);
    expect(readFileSync(file, 'utf8')).toBe('');
  });
});

describe('reconnectAfterReboot', () => {
  it('retries while nothing listens, and gives up at the deadline or on a real failure', async () => {
    let attempts = 0;
    const session = { name: 'rp1' } as HostSession;
    const connect = async () => {
      attempts++;
      if (attempts < 3) throw new HostError('unreachable', 'rp1: cannot connect: connection refused');
      return session;
    };
    expect(await reconnectAfterReboot(connect, { timeoutMs: 2000, intervalMs: 5 })).toBe(session);
    expect(attempts).toBe(3);
    const refused = () => Promise.reject(new HostError('unreachable', 'refused'));
    await expect(reconnectAfterReboot(refused, { timeoutMs: 30, intervalMs: 5 })).rejects.toThrow(
      'did not come back within 0.03 s of the reboot; last attempt: refused',
    );
    const mismatch = () => Promise.reject(new HostError('host-key-mismatch', 'rp1: host key mismatch'));
    await expect(reconnectAfterReboot(mismatch, { timeoutMs: 1000, intervalMs: 5 })).rejects.toThrow(
      'host key mismatch',
    );
  });

  it('with the boot before the reboot: a session on that boot (going down, not yet gone) is closed and retried', async () => {
    const boots = ['3f1c boot-a\n7', '3f1c boot-a\n7', '9e2d boot-b\n5'];
    const closed: number[] = [];
    let attempts = 0;
    const connect = async () => {
      const n = attempts++;
      const stdout = Buffer.from(`${boots[n]!.replace(' ', '-')}\n`);
      return {
        name: 'rp1',
        exec: async () => ({ code: 0, stdout, stderr: Buffer.alloc(0) }),
        close: async () => {
          closed.push(n);
        },
      } as unknown as HostSession;
    };
    const session = await reconnectAfterReboot(connect, {
      timeoutMs: 2000,
      intervalMs: 5,
      bootBefore: '3f1c-boot-a 7',
    });
    expect(attempts).toBe(3);
    expect(closed).toEqual([0, 1]);
    expect(await bootIdentity(session)).toBe('9e2d-boot-b 5');

    const never = async () =>
      ({
        name: 'rp1',
        exec: async () => ({ code: 0, stdout: Buffer.from('3f1c-boot-a\n7\n'), stderr: Buffer.alloc(0) }),
        close: async () => {},
      }) as unknown as HostSession;
    await expect(
      reconnectAfterReboot(never, { timeoutMs: 30, intervalMs: 5, bootBefore: '3f1c-boot-a 7' }),
    ).rejects.toThrow(
      'did not come back within 0.03 s of the reboot; last attempt: it answered, but had not rebooted yet',
    );
  });
});
