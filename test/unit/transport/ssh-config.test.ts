import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Environment, planConnection } from '../../../src/transport/settings.js';
import {
  expandTokens,
  parseProxyJump,
  readSshConfig,
  SshConfigError,
} from '../../../src/transport/ssh-config.js';
import type { SshTarget } from '../../../src/transport/target.js';

const work = mkdtempSync(join(tmpdir(), 'rpctl-ssh-config-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let homeCount = 0;
/** A home directory with ~/.ssh/config (and other files under ~/.ssh) as given. */
function home(files: Record<string, string>): string {
  const dir = join(work, `home${homeCount++}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, '.ssh', name, '..'), { recursive: true });
    writeFileSync(join(dir, '.ssh', name), text);
  }
  return dir;
}

describe('readSshConfig', () => {
  it('applies matching Host blocks, first value wins, IdentityFile accumulates', () => {
    const h = home({
      config: `
# global values apply to every host
ConnectTimeout 7

Host rp1 rp2
  HostName 10.0.0.%h
  User ops
  IdentityFile ~/.ssh/id_rp

Host rp*
  User ignored-second-value
  Port=2222
  IdentityFile "~/.ssh/with space"
  ServerAliveInterval 30

Host *
  User fallback
  Port 22
`,
    });
    const values = readSshConfig('rp1', { home: h });
    expect(values).toMatchObject({
      hostName: '10.0.0.%h',
      user: 'ops',
      port: 2222,
      connectTimeout: 7,
      serverAliveInterval: 30,
      identityFiles: ['~/.ssh/id_rp', '~/.ssh/with space'],
    });
    expect(values.origin.user).toBe(`${join(h, '.ssh', 'config')}:7`);
    expect(readSshConfig('other', { home: h })).toMatchObject({
      user: 'fallback',
      port: 22,
      identityFiles: [],
    });
  });

  it('lets a negated pattern exclude a host', () => {
    const h = home({ config: 'Host *.dmz !rp9.dmz\n  User dmz\n' });
    expect(readSshConfig('rp1.dmz', { home: h }).user).toBe('dmz');
    expect(readSshConfig('rp9.dmz', { home: h }).user).toBeUndefined();
  });

  it('follows Include with globs relative to ~/.ssh, conditionally inside a Host block', () => {
    const h = home({
      config: 'Include conf.d/*.conf\nHost rp1\n  Include inner.conf\nHost *\n  Port 2200\n',
      'conf.d/10-a.conf': 'Host rp*\n  User from-a\n',
      'conf.d/20-b.conf': 'Host rp*\n  User from-b\n  HostName b.example.com\n',
      'conf.d/.hidden.conf': 'Host *\n  User hidden\n',
      'inner.conf': 'IdentityFile ~/.ssh/inner\n',
    });
    expect(readSshConfig('rp1', { home: h })).toMatchObject({
      user: 'from-a',
      hostName: 'b.example.com',
      identityFiles: ['~/.ssh/inner'],
      port: 2200,
    });
    // The Include inside `Host rp1` does not apply to rp2; after it, `Host *` still does.
    expect(readSshConfig('rp2', { home: h })).toMatchObject({ identityFiles: [], port: 2200 });
  });

  it('skips Match blocks (noted) and treats `Match all` as global scope', () => {
    const h = home({ config: 'Match host rp1 exec "true"\n  User matched\nMatch all\n  Port 2022\n' });
    const values = readSshConfig('rp1', { home: h });
    expect(values.user).toBeUndefined();
    expect(values.port).toBe(2022);
    expect(values.notes[0]).toMatch(/config:1: Match blocks are not supported/);
  });

  it('reads ProxyJump, ProxyCommand, UserKnownHostsFile and HashKnownHosts', () => {
    const h = home({
      config:
        'Host rp1\n  ProxyJump ops@bastion:2200\n  UserKnownHostsFile ~/.ssh/kh1 ~/.ssh/kh2\n  HashKnownHosts yes\nHost rp2\n  ProxyCommand nc %h %p\n  ProxyJump ignored\n',
    });
    expect(readSshConfig('rp1', { home: h })).toMatchObject({
      proxyJump: 'ops@bastion:2200',
      userKnownHostsFiles: ['~/.ssh/kh1', '~/.ssh/kh2'],
      hashKnownHosts: true,
    });
    const rp2 = readSshConfig('rp2', { home: h });
    expect(rp2.proxyCommand).toBe('nc %h %p');
    expect(rp2.proxyJump).toBeUndefined();
  });

  it('names file and line of a bad value', () => {
    const h = home({ config: '\nHost *\n  Port twenty-two\n' });
    expect(() => readSshConfig('rp1', { home: h })).toThrow(/config:3: Port "twenty-two" is not a number/);
  });

  it('treats a missing file as empty', () => {
    expect(readSshConfig('rp1', { home: join(work, 'nowhere') })).toMatchObject({
      identityFiles: [],
      notes: [],
    });
  });
});

describe('tokens and ProxyJump values', () => {
  const values = {
    host: '10.0.0.1',
    alias: 'rp1',
    port: 2222,
    remoteUser: 'pexip',
    localUser: 'ops',
    home: '/home/ops',
  };

  it('expands ~ and %h %n %p %r %u %d %%', () => {
    expect(expandTokens('~/.ssh/id_%h_%n_%p_%r_%u_%%', values, 'IdentityFile')).toBe(
      '/home/ops/.ssh/id_10.0.0.1_rp1_2222_pexip_ops_%',
    );
    expect(expandTokens('%d/keys', values, 'IdentityFile')).toBe('/home/ops/keys');
    expect(() => expandTokens('%C', values, 'IdentityFile')).toThrow(SshConfigError);
  });

  it('parses [user@]host[:port] and refuses more than one hop', () => {
    expect(parseProxyJump('bastion', 'x')).toEqual({ host: 'bastion' });
    expect(parseProxyJump('ops@bastion.example.com:2200', 'x')).toEqual({
      host: 'bastion.example.com',
      user: 'ops',
      port: 2200,
    });
    expect(parseProxyJump('ssh://ops@[2001:db8::1]:22', 'x')).toEqual({
      host: '2001:db8::1',
      user: 'ops',
      port: 22,
    });
    expect(parseProxyJump('none', 'x')).toBeUndefined();
    expect(() => parseProxyJump('a,b', 'config:3')).toThrow(/config:3: ProxyJump a,b has more than one hop/);
  });
});

function target(ssh: Omit<SshTarget, 'name'>): SshTarget {
  return { name: 'rp1', ...ssh };
}

describe('planConnection: target > ~/.ssh/config > defaults', () => {
  const config = `
Host rp1
  HostName 10.0.0.1
  User ops
  Port 2222
  IdentityFile ~/.ssh/id_%h
  UserKnownHostsFile ~/.ssh/fleet_hosts
  ConnectTimeout 5
  ServerAliveInterval 0
  ProxyJump jump@bastion:2200
Host bastion
  HostName 192.0.2.10
  IdentityFile ~/.ssh/id_bastion
`;

  it("uses ssh(1)'s defaults when nothing is set: the local user, port 22, ~/.ssh keys", () => {
    const env: Environment = { home: home({}), localUser: 'ops' };
    expect(planConnection(target({ host: 'rp9' }), env).target.user).toBe('ops');
    const { target: planned, jump } = planConnection(target({ host: 'rp9', defaultUser: 'pexip' }), env);
    expect(planned).toMatchObject({
      host: 'rp9',
      port: 22,
      user: 'pexip',
      knownHostsFiles: [join(env.home, '.ssh', 'known_hosts')],
      connectTimeoutMs: 10_000,
      keepaliveIntervalMs: 15_000,
      hashKnownHosts: false,
    });
    expect(planned.identityFiles.map((f) => f.path)).toEqual(
      ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => join(env.home, '.ssh', k)),
    );
    expect(jump).toBeUndefined();
  });

  it("takes ~/.ssh/config values (its User over the target's default user), tokens expanded", () => {
    const env: Environment = { home: home({ config }), localUser: 'local' };
    const { target: planned, jump } = planConnection(target({ host: 'rp1', defaultUser: 'pexip' }), env);
    expect(planned).toMatchObject({
      host: '10.0.0.1',
      port: 2222,
      user: 'ops',
      identityFiles: [{ path: join(env.home, '.ssh', 'id_10.0.0.1'), required: false }],
      knownHostsFiles: [join(env.home, '.ssh', 'fleet_hosts')],
      connectTimeoutMs: 5000,
      keepaliveIntervalMs: 0,
    });
    expect(jump).toMatchObject({
      host: '192.0.2.10',
      port: 2200,
      user: 'jump',
      identityFiles: [{ path: join(env.home, '.ssh', 'id_bastion'), required: false }],
    });
  });

  it("lets the target's settings win over ~/.ssh/config", () => {
    const env: Environment = { home: home({ config }), localUser: 'ops', sshAuthSock: '/run/agent.sock' };
    const password = () => 'not asked for while planning';
    const { target: planned, jump } = planConnection(
      target({
        host: 'rp1',
        port: 22,
        user: 'pexip',
        identityFile: '/keys/fleet',
        knownHosts: ['/inv/known_hosts'],
        connectTimeout: 3,
        keepaliveInterval: 20,
        agent: true,
        password,
        jump: { host: 'other-bastion', user: 'bob' },
      }),
      env,
    );
    expect(planned).toMatchObject({
      host: '10.0.0.1', // HostName still applies to the alias
      port: 22,
      user: 'pexip',
      identityFiles: [{ path: '/keys/fleet', required: true }],
      knownHostsFiles: ['/inv/known_hosts'],
      connectTimeoutMs: 3000,
      keepaliveIntervalMs: 20_000,
      agent: '/run/agent.sock',
      password,
    });
    // The bastion gets the appliance's key and known_hosts, never its password.
    expect(jump).toMatchObject({
      host: 'other-bastion',
      port: 22,
      user: 'bob',
      knownHostsFiles: ['/inv/known_hosts'],
    });
    expect(jump?.identityFiles).toEqual([{ path: '/keys/fleet', required: true }]);
    expect(jump?.password).toBeUndefined();
  });

  it('refuses ProxyCommand, chained jumps and an agent without SSH_AUTH_SOCK, naming the cause', () => {
    const env: Environment = {
      home: home({
        config: 'Host pc\n  ProxyCommand nc %h %p\nHost chain\n  ProxyJump b1\nHost b1\n  ProxyJump b2\n',
      }),
      localUser: 'ops',
    };
    expect(() => planConnection(target({ host: 'pc' }), env)).toThrow(
      /config:2: ProxyCommand is not supported/,
    );
    expect(() => planConnection(target({ host: 'chain' }), env)).toThrow(
      /jump host b1 has a ProxyJump of its own/,
    );
    expect(() => planConnection(target({ host: 'x', agent: true }), env)).toThrow(/SSH_AUTH_SOCK is not set/);
  });
});
