/**
 * ssh -G output to settings (parseSshG), the built-in parser's notes when OpenSSH is absent, and
 * how planConnection picks the agent and the known_hosts files from what ssh_config resolved.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSshG, prefetchSshConfig, resolveSshConfig } from '../../../src/transport/openssh.js';
import { type Environment, planConnection } from '../../../src/transport/settings.js';

const work = mkdtempSync(join(tmpdir(), 'rpctl-openssh-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// What OpenSSH 9.2 prints for a host (trimmed): defaults included, keywords lower case.
const SSH_G = `host rp1
user ops
hostname 10.0.0.1
port 2222
addressfamily any
identityfile ~/.ssh/id_rp
identityfile %d/.ssh/id_%r
identityagent /run/agent.sock
identitiesonly yes
hostkeyalias rp1.fleet
globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2
userknownhostsfile /home/ops/.ssh/known_hosts /home/ops/.ssh/known_hosts2
hashknownhosts yes
connecttimeout none
serveraliveinterval 0
proxyjump admin@bastion:2200
`;

describe('parseSshG', () => {
  it('reads the settings rpctl uses, keeping IdentityFile order and tokens for settings.ts', () => {
    const values = parseSshG(SSH_G, { localUser: 'root' });
    expect(values).toMatchObject({
      hostName: '10.0.0.1',
      user: 'ops',
      port: 2222,
      identityFiles: ['~/.ssh/id_rp', '%d/.ssh/id_%r'],
      identityAgent: '/run/agent.sock',
      identitiesOnly: true,
      hostKeyAlias: 'rp1.fleet',
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      userKnownHostsFiles: ['/home/ops/.ssh/known_hosts', '/home/ops/.ssh/known_hosts2'],
      hashKnownHosts: true,
      proxyJump: 'admin@bastion:2200',
    });
    expect(values.connectTimeout).toBeUndefined(); // `none`
    expect(values.serverAliveInterval).toBeUndefined(); // ssh's 0 leaves rpctl's keepalive default
    expect(values.origin.user).toBe('ssh -G');
  });

  it("leaves the local user, port 22 and ssh's default keys (what ssh prints when nothing names them) to rpctl's defaults", () => {
    const defaults = [
      'id_rsa',
      'id_ecdsa',
      'id_ecdsa_sk',
      'id_ed25519',
      'id_ed25519_sk',
      'id_xmss',
      'id_dsa',
    ];
    const output = `user root\nport 22\nhostname rp1\nproxyjump none\n${defaults.map((k) => `identityfile ~/.ssh/${k}\n`).join('')}`;
    const values = parseSshG(output, { localUser: 'root' });
    expect(values.identityFiles).toEqual([]);
    expect(values.user).toBeUndefined();
    expect(values.port).toBeUndefined();
    expect(values.proxyJump).toBeUndefined();
  });
});

function home(name: string, config: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, '.ssh'), { recursive: true });
  writeFileSync(join(dir, '.ssh', 'config'), config);
  return dir;
}

const MATCH_CONFIG = 'Match host 10.9.9.9\n  User nobody\nHost *\n  ForwardAgent yes\n  Port 2200\n';

describe('resolveSshConfig', () => {
  it('asks ssh -G, which evaluates Match blocks as ssh does, with the inventory user winning via -l', () => {
    const h = home('match', MATCH_CONFIG);
    const options = { home: h, localUser: 'root', configPath: join(h, '.ssh', 'config'), sshBinary: 'ssh' };
    const values = resolveSshConfig('10.9.9.9', options);
    expect(values.resolvedBy).toBe('ssh -G');
    expect(values.user).toBe('nobody');
    expect(values.port).toBe(2200);
    expect(resolveSshConfig('10.9.9.9', { ...options, user: 'admin' }).user).toBe('admin');
    expect(resolveSshConfig('10.9.9.8', options).user).toBeUndefined();
  });

  it('runs ssh -G in the background once per host, so the later lookup finds it', async () => {
    const h = home('prefetch', MATCH_CONFIG);
    // ssh behind a wrapper that counts its runs
    const runs = join(h, 'runs');
    const wrapper = join(h, 'ssh');
    writeFileSync(wrapper, `#!/bin/sh\necho run >> ${runs}\nexec ssh "$@"\n`, { mode: 0o755 });
    const options = { home: h, localUser: 'root', configPath: join(h, '.ssh', 'config'), sshBinary: wrapper };
    await Promise.all([prefetchSshConfig('10.9.9.9', options), prefetchSshConfig('10.9.9.9', options)]);
    expect(resolveSshConfig('10.9.9.9', options)).toMatchObject({ resolvedBy: 'ssh -G', user: 'nobody' });
    expect(readFileSync(runs, 'utf8')).toBe('run\n');
  });

  it('falls back to the built-in parser without OpenSSH, naming every directive it skips', () => {
    const h = home('no-openssh', MATCH_CONFIG);
    const values = resolveSshConfig('10.9.9.9', { home: h, localUser: 'root' });
    expect(values.resolvedBy).toBe('built-in parser');
    expect(values.user).toBeUndefined();
    expect(values.port).toBe(2200);
    const config = join(h, '.ssh', 'config');
    expect(values.notes).toEqual([
      `${config}:1: Match blocks are not supported by rpctl and were skipped`,
      `${config}:4: forwardagent is not read by rpctl's built-in ssh_config reader and was skipped`,
    ]);
  });
});

describe('planConnection: agent and known_hosts as ssh picks them', () => {
  const env = (h: string, sock?: string): Environment => ({
    home: h,
    localUser: 'root',
    sshBinary: 'ssh',
    ...(sock ? { sshAuthSock: sock } : {}),
  });
  const target = (extra: object = {}) => ({ name: 'rp1', host: 'rp1', defaultUser: 'pexip', ...extra });

  it('uses $SSH_AUTH_SOCK when the inventory says nothing, never when it says agent: false', () => {
    const h = home('agent', '');
    expect(planConnection(target(), env(h, '/tmp/agent.sock')).target.agent).toBe('/tmp/agent.sock');
    expect(planConnection(target(), env(h)).target.agent).toBeUndefined();
    expect(planConnection(target({ agent: false }), env(h, '/tmp/agent.sock')).target.agent).toBeUndefined();
  });

  it('honours IdentityAgent (none, a path), HostKeyAlias, IdentitiesOnly and GlobalKnownHostsFile', () => {
    const h = home(
      'identity-agent',
      'Host rp1\n  IdentityAgent /run/rp1-agent.sock\n  HostKeyAlias fleet-rp1\n  IdentitiesOnly yes\n  GlobalKnownHostsFile /etc/fleet_known_hosts\nHost rp2\n  IdentityAgent none\n',
    );
    const planned = planConnection(target(), env(h, '/tmp/agent.sock')).target;
    expect(planned).toMatchObject({
      agent: '/run/rp1-agent.sock',
      hostKeyAlias: 'fleet-rp1',
      identitiesOnly: true,
      knownHostsFiles: [join(h, '.ssh', 'known_hosts')],
      globalKnownHostsFiles: ['/etc/fleet_known_hosts'],
    });
    expect(planConnection(target({ host: 'rp2' }), env(h, '/tmp/agent.sock')).target.agent).toBeUndefined();
  });
});
