/**
 * The lab itself (issue: skeleton, CI and the appliance lab). Checked from outside with the
 * OpenSSH client and TLS handshakes, so these tests do not depend on rpctl's own transport.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { Client } from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { clientFiles, initPid, labConfig, labExec, labSh, readState, reset, spec, status } from './lab.js';

const cfg = labConfig();
const files = clientFiles(cfg);
const names = (readState(cfg)?.appliances ?? []).map((a) => a.name);

function ssh(address: string, user: string, command: string, input?: string) {
  return spawnSync(
    'ssh',
    [
      '-i',
      files.identityFile,
      '-o',
      `UserKnownHostsFile=${files.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=5',
      '-o',
      'LogLevel=ERROR',
      `${user}@${address}`,
      command,
    ],
    { encoding: 'utf8', input, timeout: 20_000 },
  );
}

function servedCertificate(address: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port: 443, servername, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
      socket.end();
    });
    socket.once('error', reject);
  });
}

function nginxPids(name: string): string {
  return labSh(name, 'pgrep nginx | sort -n | tr "\\n" " "').trim();
}

describe('lab appliances', () => {
  it('is a mixed fleet of running appliances, each in its own mount, PID and UTS namespaces', () => {
    expect(names.length).toBeGreaterThanOrEqual(3);
    expect(status(cfg).every((s) => s.running)).toBe(true);
    expect(names.map((n) => spec(n).generation)).toEqual(expect.arrayContaining(['v4', 'v7']));
    const namespaces = names.map((name) =>
      ['mnt', 'pid', 'uts'].map((ns) => readlinkSync(`/proc/${initPid(name)}/ns/${ns}`)).join(' '),
    );
    const host = ['mnt', 'pid', 'uts'].map((ns) => readlinkSync(`/proc/self/ns/${ns}`));
    for (const set of namespaces) for (const ns of host) expect(set).not.toContain(ns);
    expect(new Set(namespaces).size).toBe(names.length);
    for (const name of names) expect(labSh(name, 'hostname').trim()).toBe(spec(name).hostname);
  });

  it('accepts an SSH login as pexip with the lab key on every appliance', () => {
    for (const name of names) {
      const result = ssh(spec(name).address, 'pexip', 'id -un; hostname');
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toBe(`pexip\n${spec(name).hostname}\n`);
    }
  });

  it('runs sudo -S with the right password and refuses a wrong one', () => {
    const { address } = spec(names[0]!);
    const right = ssh(address, 'pexip', "sudo -k -S -p '' id -u", `${files.sudoPassword()}\n`);
    expect(right.stdout.trim()).toBe('0');
    const wrong = ssh(address, 'pexip', "sudo -k -S -p '' id -u", 'not-the-password\n');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).not.toContain('0');
    expect(wrong.stderr).toContain('incorrect password');
  });

  it('refuses root logins', () => {
    const result = ssh(spec(names[0]!).address, 'root', 'true');
    expect(result.status).toBe(255);
    expect(result.stderr).toMatch(/Permission denied/);
  });

  it("serves each appliance's own certificate on its address:443", async () => {
    for (const name of names) {
      const pem = labSh(name, 'cat /etc/nginx/ssl/pexip.pem');
      expect(labSh(name, 'stat -c "%a %U" /etc/nginx/ssl/pexip.pem').trim()).toBe('400 root');
      // certificate first, then its key, as the guide orders pexip.pem
      expect(pem.indexOf('BEGIN CERTIFICATE')).toBeLessThan(pem.indexOf('PRIVATE KEY'));
      const installed = new X509Certificate(pem).fingerprint256;
      const fqdn = `${spec(name).hostname}.${spec(name).domain}`;
      expect(await servedCertificate(spec(name).address, fqdn)).toBe(installed);
    }
    const fingerprints = names.map(
      (n) => new X509Certificate(labSh(n, 'cat /etc/nginx/ssl/pexip.pem')).fingerprint256,
    );
    expect(new Set(fingerprints).size).toBe(names.length);
  });

  it("reloads one appliance's nginx without touching the others", () => {
    const [target, ...others] = names;
    const before = Object.fromEntries(names.map((n) => [n, nginxPids(n)]));
    labSh(target!, 'service nginx reload');
    // new workers replace the old ones shortly after the reload signal
    let after = nginxPids(target!);
    for (let i = 0; i < 50 && after === before[target!]; i++) {
      spawnSync('sleep', ['0.1']);
      after = nginxPids(target!);
    }
    expect(after).not.toBe(before[target!]);
    for (const other of others) expect(nginxPids(other)).toBe(before[other]);
  });

  it('runs TURN under the generation-specific service with the lab user in its SQLite userdb', () => {
    for (const name of names) {
      const service = spec(name).generation === 'v4' ? 'rfc5766-turn-server' : 'coturn';
      expect(labExec(name, ['service', service, 'status']).status).toBe(0);
      const users = labSh(name, 'turnadmin -l -b /etc/turnuserdb.conf 2>/dev/null');
      expect(users).toContain(`pexip[${spec(name).domain}]`);
      expect(labSh(name, 'sqlite3 /etc/turnuserdb.conf "select name from turnusers_lt"').trim()).toBe(
        'pexip',
      );
    }
  });

  it('has the generation-specific network file and fail2ban configured but disabled', () => {
    for (const name of names) {
      const v4 = spec(name).generation === 'v4';
      expect(labExec(name, ['test', '-e', '/etc/network/interfaces']).status).toBe(v4 ? 0 : 1);
      expect(labExec(name, ['test', '-e', '/etc/netplan/01-netcfg.yaml']).status).toBe(v4 ? 1 : 0);
      expect(labSh(name, 'ls /etc/rc2.d')).toMatch(/K\d\dfail2ban/);
      expect(labSh(name, 'grep -c "^\\[pexiprp\\]" /etc/fail2ban/jail.local').trim()).toBe('1');
      expect(labExec(name, ['fail2ban-client', 'ping']).status).not.toBe(0);
    }
  });

  it('keeps every listening socket of the lab on its own loopback addresses', () => {
    const lines = spawnSync('ss', ['-Htulnp'], { encoding: 'utf8' }).stdout.split('\n');
    for (const name of names) {
      const ours = lines.filter((line) => line.includes(` ${spec(name).address}:`));
      expect(ours.length).toBeGreaterThanOrEqual(3); // sshd 22, nginx 80 and 443, TURN 3478
    }
    // nothing of the lab listens on a wildcard address
    const wildcard = lines.filter((l) => /(0\.0\.0\.0|\*|\[::\]):(22|80|443|3478)\s/.test(l));
    expect(wildcard).toEqual([]);
  });
});

describe('a fresh appliance', () => {
  const name = names[names.length - 1]!;
  afterAll(async () => {
    await reset([name], { state: 'installed' });
  });

  it('has the factory password, already expired: the first login forces a change', async () => {
    await reset([name], { state: 'fresh' });
    expect(labSh(name, 'chage -l pexip')).toMatch(/Last password change\s*:\s*password must be changed/);
    const transcript = await new Promise<string>((resolve, reject) => {
      const client = new Client();
      let text = '';
      client
        .on('ready', () => {
          client.shell({ term: 'xterm' }, (err, stream) => {
            if (err) return reject(err);
            stream.on('data', (chunk: Buffer) => {
              text += chunk.toString();
              if (/Current password:/.test(text)) {
                client.end();
                resolve(text);
              }
            });
          });
        })
        .on('error', reject)
        .connect({
          host: spec(name).address,
          username: 'pexip',
          password: 'PEXIP',
          hostVerifier: () => true,
          readyTimeout: 10_000,
        });
      setTimeout(() => reject(new Error(`no password change prompt; got: ${text}`)), 15_000);
    });
    expect(transcript).toMatch(/You are required to change your password immediately/);
  });
});

describe('lab files on the client side', () => {
  it('writes an inventory, known_hosts, key and secrets that are git-ignored', () => {
    const ignored = spawnSync(
      'git',
      ['check-ignore', files.inventory, files.knownHosts, files.sudoPasswordFile],
      {
        cwd: cfg.repoRoot,
        encoding: 'utf8',
      },
    );
    expect(ignored.stdout.trim().split('\n')).toHaveLength(3);
    const inventory = readFileSync(files.inventory, 'utf8');
    for (const name of names) expect(inventory).toContain(`host: ${spec(name).address}`);
    expect(inventory).not.toContain(files.sudoPassword());
  });
});
