/**
 * The SSH transport against the lab's real OpenSSH sshd and sudo. Builds appliance settings
 * directly (no inventory loader), pointing at the lab's client files, and connects to them as the
 * engine does (sshTarget: the `pexip` default user, secrets read on demand).
 *
 * Connections are counted on both sides: the session's `stats`, and the appliance's established
 * TCP connections on port 22 (`ss` inside the appliance: the lab has no syslog daemon, so sshd's
 * log goes nowhere and cannot be counted).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sshTarget } from '../../src/engine/ssh-target.js';
import { HostError } from '../../src/errors.js';
import type { ApplianceConfig, SecretRef, SshSettings } from '../../src/inventory/model.js';
import { fingerprint, KnownHosts } from '../../src/transport/known-hosts.js';
import { sh } from '../../src/transport/shell.js';
import { JumpHosts, type OpenSessionOptions, openSession } from '../../src/transport/ssh.js';
import type { SshTarget } from '../../src/transport/target.js';
import type { HostSession } from '../../src/transport/types.js';
import { clientFiles, labConfig, labSh, reset, spec } from './lab.js';

const files = clientFiles();
const prefix = labConfig().prefix;
const sudoPassword = files.sudoPassword();
const sudoRef: SecretRef = { kind: 'file', path: files.sudoPasswordFile };
const work = mkdtempSync(join(tmpdir(), 'rpctl-transport-lab-'));
// An empty home: the ~/.ssh/config, keys and agent of whoever runs the tests stay out of it.
const emptyHome = join(work, 'home');
const logLines: string[] = [];

function secret(ref: SecretRef): string {
  if (ref.kind !== 'file') throw new Error(`test: unexpected secret ${ref.kind}`);
  return readFileSync(ref.path, 'utf8').trim();
}

function appliance(
  name: string,
  ssh: Partial<SshSettings> = {},
  sudo: SecretRef | null = sudoRef,
): SshTarget {
  return sshTarget(applianceConfig(name, ssh, sudo), secret);
}

function applianceConfig(name: string, ssh: Partial<SshSettings>, sudo: SecretRef | null): ApplianceConfig {
  return {
    name,
    groups: [],
    ssh: {
      identityFile: files.identityFile,
      knownHosts: [files.knownHosts],
      ...ssh,
      host: ssh.host ?? spec(name).address,
    },
    sudo: sudo ? { password: sudo } : {},
    sections: {},
    source: { file: 'transport.test.ts', line: 1, column: 1 },
  };
}

function options(extra: Partial<OpenSessionOptions> = {}): OpenSessionOptions {
  return {
    acceptNewHostKeys: false,
    log: (line) => logLines.push(line),
    environment: { home: emptyHome, sshAuthSock: undefined },
    ...extra,
  };
}

/** Established SSH connections the appliance's sshd holds (server side of port 22). */
function sshdConnections(name: string): number {
  const address = spec(name).address;
  return labSh(name, `ss -tnH state established '( sport = :22 )' src ${address}`).split('\n').filter(Boolean)
    .length;
}

async function waitFor(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

async function failure(promise: Promise<unknown>): Promise<HostError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HostError);
  return err as HostError;
}

const open: HostSession[] = [];
async function session(config: SshTarget, extra: Partial<OpenSessionOptions> = {}): Promise<HostSession> {
  const s = await openSession(config, options(extra));
  open.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  // No secret in any log line of the whole file.
  for (const line of logLines) {
    expect(line).not.toContain(sudoPassword);
    expect(line).not.toContain(files.turnPassword());
  }
});

describe('transport against real sshd', () => {
  it('authenticates with a key, runs plain and sudo execs on ONE connection, counts exactly', async () => {
    const s = await session(appliance('lab-1'));
    expect(sshdConnections('lab-1')).toBe(1);
    const plain = await s.exec(sh`id -un; echo to-stderr >&2; exit 3`);
    expect(plain).toMatchObject({ code: 3 });
    expect(plain.stdout.toString()).toBe('pexip\n');
    expect(plain.stderr.toString()).toBe('to-stderr\n');
    const root = await s.exec(sh`id -un`, { sudo: true });
    expect(root.code).toBe(0);
    expect(root.stdout.toString()).toBe('root\n'); // no marker left in the output
    // The caller's stdin reaches the command, after the password, which the command never sees.
    const echoed = await s.exec(sh`cat`, { sudo: true, stdin: 'line one\nline two\n' });
    expect(echoed.stdout.toString()).toBe('line one\nline two\n');
    // A syntax error in the command is the command's failure, not sudo's.
    const broken = await s.exec(sh`if then fi`, { sudo: true });
    expect(broken.code).toBe(2);
    expect(sshdConnections('lab-1')).toBe(1);
    expect(s.stats).toMatchObject({ connections: 1, execs: 4, sftpSessions: 0 });
    expect(s.stats.bytesSent).toBeGreaterThan(0);
    expect(s.stats.bytesReceived).toBeGreaterThan(0);
    expect(
      logLines.some((l) => /^lab-1: connected to pexip@.* \(publickey id_ed25519; curve25519-sha256/.test(l)),
    ).toBe(true);
    await s.close();
    await waitFor(() => sshdConnections('lab-1') === 0);
    expect(sshdConnections('lab-1')).toBe(0);
  });

  it('never puts the sudo password on a command line', async () => {
    const s = await session(appliance('lab-1'));
    const ps = await s.exec(sh`ps -eo args`, { sudo: true });
    expect(ps.stdout.toString()).toContain('sudo -k -S -p');
    expect(ps.stdout.toString()).not.toContain(sudoPassword);
  });

  it('authenticates with a password', async () => {
    const s = await session(appliance('lab-4', { identityFile: undefined, password: sudoRef }));
    expect((await s.exec(sh`id -un`)).stdout.toString()).toBe('pexip\n');
    expect(logLines.some((l) => l.startsWith('lab-4: connected') && l.includes('(password;'))).toBe(true);
  });

  describe('keyboard-interactive (password authentication turned off in sshd)', () => {
    beforeAll(() => {
      labSh(
        'lab-3',
        "sed -i 's/^PasswordAuthentication yes/PasswordAuthentication no/' /etc/ssh/sshd_config",
      );
      labSh('lab-3', 'kill -HUP "$(cat /run/sshd.pid)"');
    });
    afterAll(() => reset(['lab-3']));

    it('answers the password prompt with the password', async () => {
      await waitFor(() => false, 300); // sshd re-executes itself on HUP
      const s = await session(appliance('lab-3', { identityFile: undefined, password: sudoRef }));
      expect((await s.exec(sh`id -un`)).stdout.toString()).toBe('pexip\n');
      expect(
        logLines.some((l) => l.startsWith('lab-3: connected') && l.includes('(keyboard-interactive;')),
      ).toBe(true);
    });
  });

  it('refuses a wrong sudo password with sudo-auth, without the password in the message', async () => {
    const wrong = join(work, 'wrong-password');
    writeFileSync(wrong, 'Not-The-Password-1\n', { mode: 0o600 });
    const s = await session(appliance('lab-2', {}, { kind: 'file', path: wrong }));
    const started = Date.now();
    const err = await failure(s.exec(sh`id -un`, { sudo: true }));
    expect(err.reason).toBe('sudo-auth');
    expect(err.message).toBe('lab-2: sudo rejected the password for pexip');
    // With stdin to send, sudo must not read it as more password attempts.
    const withStdin = await failure(s.exec(sh`cat`, { sudo: true, stdin: 'stdin-line-1\nstdin-line-2\n' }));
    expect(withStdin.reason).toBe('sudo-auth');
    for (const e of [err, withStdin]) {
      expect(e.message).not.toContain('Not-The-Password-1');
      expect(e.message).not.toContain(sudoPassword);
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    // The connection is still good for commands without sudo.
    expect((await s.exec(sh`echo still-here`)).stdout.toString()).toBe('still-here\n');
  });

  it('fails sudo with sudo-auth when the inventory has no sudo password', async () => {
    const s = await session(appliance('lab-2', {}, null));
    const err = await failure(s.exec(sh`id`, { sudo: true }));
    expect(err.reason).toBe('sudo-auth');
    expect(err.message).toMatch(
      /^lab-2: sudo needs the password of pexip, but the inventory sets no sudo\.password$/,
    );
    expect(s.stats.execs).toBe(0);
  });

  it('authenticates with ssh-agent (agent: true uses SSH_AUTH_SOCK)', async () => {
    const sock = join(work, 'agent.sock');
    // An agent of our own, stopped by its PID at the end.
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await waitFor(() => existsSync(sock));
      execFileSync('ssh-add', ['-q', files.identityFile], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        stdio: 'ignore',
      });
      const s = await session(appliance('lab-2', { identityFile: undefined, agent: true }), {
        environment: { home: emptyHome, sshAuthSock: sock },
      });
      expect((await s.exec(sh`id -un`)).stdout.toString()).toBe('pexip\n');
      expect(logLines.some((l) => l.startsWith('lab-2: connected') && l.includes('(agent;'))).toBe(true);
    } finally {
      agent.kill();
    }
  });

  it('uses a passphrase-protected key with its passphrase, and says so when the passphrase is wrong', async () => {
    const key = join(work, 'id_encrypted');
    copyFileSync(files.identityFile, key);
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'Key-Passphrase-9', '-f', key]);
    const passphraseFile = join(work, 'passphrase');
    writeFileSync(passphraseFile, 'Key-Passphrase-9\n', { mode: 0o600 });
    await session(
      appliance('lab-3', { identityFile: key, passphrase: { kind: 'file', path: passphraseFile } }),
    );
    const wrongFile = join(work, 'wrong-passphrase');
    writeFileSync(wrongFile, 'nope\n', { mode: 0o600 });
    const otherKey = join(work, 'id_encrypted_2'); // another file: parsed keys are cached per file
    copyFileSync(key, otherKey);
    const err = await failure(
      openSession(
        appliance('lab-3', { identityFile: otherKey, passphrase: { kind: 'file', path: wrongFile } }),
        options(),
      ),
    );
    expect(err.reason).toBe('auth');
    expect(err.message).toBe(`lab-3: cannot use the private key ${otherKey}: wrong passphrase`);
  });

  it('refuses root login', async () => {
    const err = await failure(openSession(appliance('lab-1', { user: 'root' }), options()));
    expect(err.reason).toBe('auth');
    expect(err.message).toBe(
      `lab-1: authentication failed for root@${prefix}.1:22 (methods tried: publickey id_ed25519)`,
    );
  });

  it('reports an unreachable address quickly, in one line', async () => {
    const started = Date.now();
    const err = await failure(openSession(appliance('lab-250', { host: `${prefix}.250` }), options()));
    expect(err.reason).toBe('unreachable');
    expect(err.message).toBe(`lab-250: cannot connect to ${prefix}.250:22: connection refused`);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('gives up on a server that never speaks SSH after the connect timeout', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, `${prefix}.251`, r));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const err = await failure(
        openSession(appliance('silent', { host: `${prefix}.251`, port, connectTimeout: 1 }), options()),
      );
      expect(err.reason).toBe('unreachable');
      expect(err.message).toBe(
        `silent: cannot connect to ${prefix}.251:${port}: timed out after 1 s during the SSH handshake`,
      );
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      silent.close();
    }
  });

  describe('host keys', () => {
    afterAll(() => reset(['lab-2']));

    it('refuses a changed host key with both fingerprints and file:line, while another host connects', async () => {
      labSh(
        'lab-2',
        'rm -f /etc/ssh/ssh_host_ed25519_key* /etc/ssh/ssh_host_ecdsa_key* && ' +
          "ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && " +
          "ssh-keygen -q -t ecdsa -N '' -f /etc/ssh/ssh_host_ecdsa_key && " +
          'kill -HUP "$(cat /run/sshd.pid)"',
      );
      await waitFor(() => false, 300);
      const newKey = Buffer.from(
        labSh('lab-2', 'cat /etc/ssh/ssh_host_ed25519_key.pub').split(' ')[1]!,
        'base64',
      );
      const oldKeys = KnownHosts.load([files.knownHosts]).lookup(spec('lab-2').address, 22);
      const [changed, fine] = await Promise.allSettled([
        openSession(appliance('lab-2'), options()),
        openSession(appliance('lab-3'), options()),
      ]);
      expect(fine.status).toBe('fulfilled');
      if (fine.status === 'fulfilled') open.push(fine.value);
      expect(changed.status).toBe('rejected');
      const err = (changed as PromiseRejectedResult).reason as HostError;
      expect(err.reason).toBe('host-key-mismatch');
      expect(err.message).toContain(
        `lab-2: host key mismatch for ${prefix}.2:22: it offered ssh-ed25519 ${fingerprint(newKey)}`,
      );
      for (const old of oldKeys)
        expect(err.message).toContain(`${old.fingerprint} (${files.knownHosts}:${old.line})`);
      expect(err.message).not.toContain('\n');
    });

    it('refuses an unknown host unless asked to accept new keys, then records it (hashed per ~/.ssh/config)', async () => {
      const knownHosts = join(work, 'tofu', 'known_hosts');
      const home = join(work, 'tofu-home');
      writeFileSync(join(work, 'ssh_config'), `Host ${prefix}.4\n  HashKnownHosts yes\n`);
      const config = appliance('lab-4', { knownHosts: [knownHosts] });
      const unknown = await failure(
        openSession(config, options({ sshConfigPath: join(work, 'ssh_config') })),
      );
      expect(unknown.reason).toBe('host-key-unknown');
      expect(unknown.message).toMatch(
        /^lab-4: the host key of .* is not in .*; .* rerun with --accept-new-host-keys/,
      );

      await session(config, {
        acceptNewHostKeys: true,
        sshConfigPath: join(work, 'ssh_config'),
        environment: { home },
      });
      const recorded = readFileSync(knownHosts, 'utf8');
      expect(recorded).toMatch(/^\|1\|\S+ ssh-ed25519 \S+\n$/);
      const applianceKey = labSh('lab-4', 'cat /etc/ssh/ssh_host_ed25519_key.pub').split(' ')[1];
      expect(recorded).toContain(applianceKey);
      expect(logLines.some((l) => l.startsWith('lab-4: recorded the new host key ssh-ed25519 SHA256:'))).toBe(
        true,
      );
      // Known now: a plain connection succeeds without accepting anything new.
      await session(config);
    });

    it('offers the recorded key type first, so a host known only by its ECDSA key connects', async () => {
      const ecdsaOnly = join(work, 'ecdsa_only');
      const address = spec('lab-1').address;
      const lines = readFileSync(files.knownHosts, 'utf8').split('\n');
      writeFileSync(ecdsaOnly, `${lines.filter((l) => l.startsWith(`${address} ecdsa-`)).join('\n')}\n`);
      await session(appliance('lab-1', { knownHosts: [ecdsaOnly] }));
      expect(
        logLines.some((l) => l.startsWith('lab-1: connected') && l.includes('ecdsa-sha2-nistp256')),
      ).toBe(true);
    });
  });

  it('jumps through lab-1 to lab-2 and lab-3 over one bastion connection', async () => {
    const jumpHosts = new JumpHosts();
    const jump = { host: spec('lab-1').address };
    const [two, three] = await Promise.all([
      session(appliance('lab-2', { jump }), { jumpHosts }),
      session(appliance('lab-3', { jump }), { jumpHosts }),
    ]);
    expect((await two!.exec(sh`hostname`)).stdout.toString()).toBe('lab-2\n');
    expect((await three!.exec(sh`id -un`, { sudo: true })).stdout.toString()).toBe('root\n');
    expect(jumpHosts.stats).toEqual({ connections: 1, forwardedChannels: 2 });
    expect(sshdConnections('lab-1')).toBe(1); // the bastion: one connection for both
    expect(two!.stats.connections).toBe(1);
    expect(three!.stats.connections).toBe(1);
    await two!.close();
    expect(sshdConnections('lab-1')).toBe(1); // lab-3 still uses it
    await three!.close();
    await waitFor(() => sshdConnections('lab-1') === 0);
    expect(sshdConnections('lab-1')).toBe(0); // closed with its last target
    await jumpHosts.shutdown();
  });

  it('fails every appliance behind an unreachable jump host at once, naming the jump host', async () => {
    const jumpHosts = new JumpHosts();
    const jump = { host: `${prefix}.250` };
    const errors = await Promise.all(
      ['lab-2', 'lab-3'].map((name) =>
        failure(openSession(appliance(name, { jump }), options({ jumpHosts }))),
      ),
    );
    for (const err of errors) expect(err.reason).toBe('unreachable');
    expect(errors[0]!.message).toBe(
      `lab-2: jump host: cannot connect to ${prefix}.250:22: connection refused`,
    );
    expect(jumpHosts.stats.connections).toBe(1); // tried once for both
    await jumpHosts.shutdown();
  });

  it('reports an appliance the jump host cannot reach as unreachable', async () => {
    const jumpHosts = new JumpHosts();
    const err = await failure(
      openSession(
        appliance('lab-250', { host: `${prefix}.250`, jump: { host: spec('lab-1').address } }),
        options({ jumpHosts }),
      ),
    );
    expect(err.reason).toBe('unreachable');
    expect(err.message).toBe(
      `lab-250: cannot connect to ${prefix}.250:22 via jump host pexip@${prefix}.1:22: Connection refused`,
    );
    await waitFor(() => sshdConnections('lab-1') === 0);
    expect(sshdConnections('lab-1')).toBe(0); // the bastion closed: nobody else used it
    await jumpHosts.shutdown();
  });

  it('keeps a long-lived sudo command open while other execs run on the same connection', async () => {
    const s = await session(appliance('lab-2'));
    const holder = await s.execStream(sh`echo locked; read line; echo "released $line"`, { sudo: true });
    expect(await holder.waitFor(/^locked$/, 5000)).toBe('locked');
    expect((await s.exec(sh`id -un`, { sudo: true })).stdout.toString()).toBe('root\n');
    const result = await holder.finish();
    expect(result.code).toBe(0);
    expect(holder.output().toString()).toBe('locked\nreleased \n');
    expect(s.stats).toMatchObject({ connections: 1, execs: 2 });
    expect(sshdConnections('lab-2')).toBe(1);
    // A wrong password fails the stream itself.
    const bad = await session(appliance('lab-2', {}, { kind: 'file', path: files.turnPasswordFile }));
    expect((await failure(bad.execStream(sh`sleep 60`, { sudo: true }))).reason).toBe('sudo-auth');
  });

  it('fails a command that outlives its timeout at the deadline', async () => {
    const s = await session(appliance('lab-3'));
    const started = Date.now();
    const err = await failure(s.exec(sh`sleep 30`, { timeoutMs: 300 }));
    expect(err.reason).toBe('timeout');
    expect(err.message).toBe('lab-3: the command did not finish within 0.3 s');
    expect(Date.now() - started).toBeLessThan(1500);
    // The connection stays usable for the next command.
    expect((await s.exec(sh`echo next`)).stdout.toString()).toBe('next\n');
  });

  it('connects to 4 appliances and runs one sudo exec each: one connection per host, handshakes capped', async () => {
    const names = ['lab-1', 'lab-2', 'lab-3', 'lab-4'];
    const limiter = pLimit(2);
    let active = 0;
    let peak = 0;
    const handshakeLimit = (<T>(fn: () => Promise<T>) =>
      limiter(async () => {
        peak = Math.max(peak, ++active);
        try {
          return await fn();
        } finally {
          active--;
        }
      })) as unknown as LimitFunction;
    const started = performance.now();
    const results = await Promise.all(
      names.map(async (name) => {
        const s = await session(appliance(name), { handshakeLimit });
        const r = await s.exec(sh`cat /etc/hostname /etc/turnserver.conf /etc/nginx/sites-available/pexapp`, {
          sudo: true,
        });
        return { s, r };
      }),
    );
    const elapsed = performance.now() - started;
    console.log(
      `transport: connect + one sudo exec on ${names.length} appliances: ${elapsed.toFixed(0)} ms ` +
        `(handshakes ${results.map(({ s }) => s.stats.handshakeMs).join(', ')} ms)`,
    );
    for (const [i, { s, r }] of results.entries()) {
      expect(r.code).toBe(0);
      expect(r.stdout.toString().startsWith(`${names[i]}\n`)).toBe(true);
      expect(s.stats).toMatchObject({ connections: 1, execs: 1, sftpSessions: 0 });
      expect(sshdConnections(names[i]!)).toBe(1);
    }
    expect(peak).toBe(2);
    expect(elapsed).toBeLessThan(10_000);
  });
});
