/**
 * rpctl as an operator's OpenSSH would connect, run as the real process (bin/rpctl) against the
 * lab: the agent of SSH_AUTH_SOCK without any ssh.agent setting, a `Match host` block resolved by
 * `ssh -G`, a private key others can read refused before anything is contacted, and a closed
 * stdout pipe that ends rpctl quietly. Only lab-1 is used; nothing on it is changed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFiles, labConfig, spec } from './lab.js';
import { acceptedLogins, labInventoryFile, scratch } from './rpctl.js';

const name = 'lab-1';
const files = clientFiles();
const repoRoot = labConfig().repoRoot;
const agentSocket = join(scratch, 'agent.sock');
let agent: ChildProcess | undefined;

const hasOpenSsh = spawnSync('ssh', ['-V']).error === undefined;

/** bin/rpctl as a separate process; `env` adds to this process's environment. */
function rpctlProcess(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = spawnSync(process.execPath, ['bin/rpctl', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', RPCTL_STATE_DIR: join(scratch, 'state'), ...env },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeAll(async () => {
  // A real ssh-agent in the foreground (-D), ended by its pid in afterAll.
  agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !existsSync(agentSocket); i++) await new Promise((r) => setTimeout(r, 100));
  const added = spawnSync('ssh-add', [files.identityFile], {
    env: { ...process.env, SSH_AUTH_SOCK: agentSocket },
    encoding: 'utf8',
  });
  expect(added.status, added.stderr).toBe(0);
});

afterAll(() => {
  if (agent?.pid) process.kill(agent.pid);
});

describe('OpenSSH parity', () => {
  it('authenticates with the agent of SSH_AUTH_SOCK when the inventory names no key and no ssh.agent; -vv stays free of secrets', () => {
    const inventory = labInventoryFile((doc) => {
      delete doc.defaults.ssh.identityFile;
    });
    const run = rpctlProcess(['drift', '-i', inventory, '--limit', name, '--format', 'json', '-vv'], {
      SSH_AUTH_SOCK: agentSocket,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).hosts).toHaveLength(1);
    const address = spec(name).address;
    expect(run.stderr).toContain(`rpctl: ${name}: settings (ssh -G): pexip@${address}:22;`);
    expect(run.stderr).toContain(`agent ${agentSocket}`);
    expect(run.stderr).toContain(`known_hosts: ${files.knownHosts}`);
    expect(run.stderr).toMatch(
      new RegExp(`${name}: connected to pexip@${address}:22 .*\\(agent;.*tried: agent\\)`),
    );
    expect(run.stderr).toContain(`rpctl: debug: ${name}: `); // ssh2's protocol lines
    expect(run.stderr).not.toContain(files.sudoPassword());

    // ssh.agent: false turns it off, as IdentityAgent none would
    const off = labInventoryFile((doc) => {
      delete doc.defaults.ssh.identityFile;
      doc.defaults.ssh.agent = false;
    });
    const refused = rpctlProcess(['drift', '-i', off, '--limit', name, '--format', 'json'], {
      SSH_AUTH_SOCK: agentSocket,
    });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).hosts[0].error.message).toMatch(/authentication failed for pexip@/);
  });

  it('honours a Match host block of ssh_config (User nobody), or names it as skipped without OpenSSH', () => {
    const address = spec(name).address;
    const config = join(scratch, 'ssh_config');
    writeFileSync(config, `Match host ${address}\n  User nobody\n`);
    const inventory = labInventoryFile((doc) => {
      delete doc.defaults.ssh.user; // the user is ssh_config's to decide
    });
    const run = rpctlProcess(['drift', '-i', inventory, '--limit', name, '--format', 'json', '-v'], {
      RPCTL_SSH_CONFIG: config,
    });
    if (hasOpenSsh) {
      expect(run.code, run.stderr).toBe(1);
      expect(JSON.parse(run.stdout).hosts[0].error.message).toMatch(
        new RegExp(`authentication failed for nobody@${address.replaceAll('.', '\\.')}:22`),
      );
    } else {
      expect(run.stderr).toContain(`${config}:1: Match blocks are not supported by rpctl and were skipped`);
    }
  });

  it('files host keys under HostKeyAlias when ssh_config sets one, as ssh does', () => {
    const address = spec(name).address;
    const alias = 'lab-one.example';
    const known = readFileSync(files.knownHosts, 'utf8')
      .split('\n')
      .filter((line) => line.split(' ')[0]?.split(',').includes(address));
    expect(known.length).toBeGreaterThan(0);
    const aliased = join(scratch, 'known_hosts_alias');
    writeFileSync(aliased, `${known.map((line) => line.replace(/^\S+/, alias)).join('\n')}\n`);
    const config = join(scratch, 'ssh_config_alias');
    writeFileSync(config, `Host ${address}\n  HostKeyAlias ${alias}\n`);
    const inventory = labInventoryFile((doc) => {
      doc.defaults.ssh.knownHosts = aliased;
    });
    const args = ['drift', '-i', inventory, '--limit', name, '--format', 'json'];
    const run = rpctlProcess(args, { RPCTL_SSH_CONFIG: config });
    expect(run.code, run.stderr).toBe(0);
    // without the alias the same file knows nothing of the address
    const plain = rpctlProcess(args, { RPCTL_SSH_CONFIG: '/dev/null' });
    expect(plain.code).toBe(1);
    expect(JSON.parse(plain.stdout).hosts[0].error.reason).toBe('host-key-unknown');
  });

  it('refuses a private key group or others can read: exit 3 with the chmod to run, nothing contacted', async () => {
    const key = join(scratch, 'id_open');
    copyFileSync(files.identityFile, key);
    chmodSync(key, 0o644);
    const inventory = labInventoryFile((doc) => {
      doc.defaults.ssh.identityFile = key;
    });
    const logins = acceptedLogins(name);
    const run = rpctlProcess(['drift', '-i', inventory, '--limit', name]);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `rpctl: ${name}: the private key ${key}: mode 0644 lets group or others read it; run \`chmod 600 ${key}\` (or set strictModes: false in the inventory)\n`,
    );
    expect(acceptedLogins(name)).toBe(logins);

    const relaxed = labInventoryFile((doc) => {
      doc.defaults.ssh.identityFile = key;
      doc.strictModes = false;
    });
    expect(rpctlProcess(['drift', '-i', relaxed, '--limit', name]).code).toBe(0);
  });

  it('ends quietly when the reader of stdout goes away (| head -c 10): no stack trace, its own exit code', () => {
    const inventory = labInventoryFile();
    for (const command of [
      'bin/rpctl inventory schema', // ~100 kB: written after head has gone
      `bin/rpctl drift -i ${inventory} --limit ${name} --format json`,
    ]) {
      const run = spawnSync('bash', ['-c', `${command} | head -c 10; echo " exit \${PIPESTATUS[0]}"`], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, RPCTL_STATE_DIR: join(scratch, 'state') },
      });
      // progress lines may come (one per finished host), never a stack trace or an internal error
      expect(run.stderr).not.toMatch(/EPIPE|internal error|\n\s+at /);
      expect(run.stdout).toMatch(/^\{\n {2}"\S{0,7} exit 0\n$/);
    }
  });
});
