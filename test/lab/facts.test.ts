/**
 * `rpctl facts` and the inventory/transport layers behind it, against real appliances
 * (issue: inventory and SSH transport).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientFiles, readState, spec } from './lab.js';
import { acceptedLogins, labInventoryFile, rpctl, scratch } from './rpctl.js';

const names = readState()!.appliances.map((a) => a.name);
const [first, second, third] = names as [string, string, string];

interface FactsHost {
  name: string;
  status: string;
  error?: string;
  facts?: {
    appliance: { generation: string; fqdn: string; turnService: string };
    certificate: { daysLeft: number };
  };
  stats?: { connections: number; execs: number };
}

async function facts(inventory: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const result = await rpctl(['facts', '-i', inventory, ...extra], { env });
  const hosts = result.stdout ? (JSON.parse(result.stdout).hosts as FactsHost[]) : [];
  return { ...result, hosts, byName: new Map(hosts.map((h) => [h.name, h])) };
}

describe('rpctl facts', () => {
  it('reports each appliance’s generation in one connection and one exec per host', async () => {
    const before = names.map(acceptedLogins);
    const { code, hosts } = await facts(labInventoryFile());
    expect(code).toBe(0);
    expect(hosts.map((h) => [h.name, h.facts?.appliance.generation])).toEqual(
      names.map((n) => [n, spec(n).generation]),
    );
    for (const host of hosts) {
      expect(host.facts?.appliance.fqdn).toBe(`${spec(host.name).hostname}.${spec(host.name).domain}`);
      expect(host.facts?.appliance.turnService).toBe(
        spec(host.name).generation === 'v4' ? 'rfc5766-turn-server' : 'coturn',
      );
      expect(host.facts?.certificate.daysLeft).toBeGreaterThan(1000);
      expect(host.stats).toMatchObject({ connections: 1, execs: 1 });
    }
    // the appliances agree: exactly one more accepted SSH login each
    expect(names.map(acceptedLogins)).toEqual(before.map((n) => n + 1));
  });

  it('refuses a changed host key with both fingerprints (exit 1) while the others still report', async () => {
    const known = join(scratch, 'known_hosts-mismatch');
    const fake = join(scratch, 'fake_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', fake]);
    const [algo, blob] = readFileSync(`${fake}.pub`, 'utf8').trim().split(/\s+/);
    const lines = readFileSync(clientFiles().knownHosts, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith(`${spec(second).address} `));
    writeFileSync(known, `${[...lines, `${spec(second).address} ${algo} ${blob}`].join('\n')}\n`);
    const { code, byName, stderr } = await facts(
      labInventoryFile((doc) => (doc.defaults.ssh.knownHosts = known)),
    );
    expect(code).toBe(1);
    const refused = byName.get(second)!;
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/host key/i);
    expect(refused.error).toContain(
      execFileSync('ssh-keygen', ['-lf', `${fake}.pub`], { encoding: 'utf8' }).split(' ')[1]!,
    );
    expect(refused.error?.match(/SHA256:/g)?.length).toBeGreaterThanOrEqual(2);
    for (const other of [first, third]) expect(byName.get(other)?.status).toBe('ok');
    expect(stderr).toBe('');
  });

  it('fails only the host whose sudo password is wrong', async () => {
    const wrong = join(scratch, 'wrong-sudo');
    writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
    const { code, byName } = await facts(
      labInventoryFile((doc) => (doc.appliances[third].sudo = { password: `file:${wrong}` })),
    );
    expect(code).toBe(1);
    expect(byName.get(third)).toMatchObject({ status: 'failed' });
    expect(byName.get(third)?.error).toMatch(/sudo rejected the password/);
    expect(byName.get(first)?.status).toBe('ok');
  });

  it('reaches an appliance through another one as a jump host', async () => {
    const before = acceptedLogins(first);
    const inventory = labInventoryFile((doc) => {
      doc.appliances[second].ssh = { jump: `pexip@${spec(first).address}` };
    });
    const { code, byName } = await facts(inventory, ['--limit', second]);
    expect(code).toBe(0);
    expect(byName.get(second)?.facts?.appliance.generation).toBe(spec(second).generation);
    expect(acceptedLogins(first)).toBe(before + 1); // the bastion saw the jump connection
  });

  it('exits 3 on an invalid inventory and contacts no appliance', async () => {
    const before = names.map(acceptedLogins);
    const inventory = labInventoryFile((doc) => (doc.appliances[first].ssh = { port: 'twenty-two' }));
    const { code, stdout, stderr } = await facts(inventory);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      new RegExp(`${inventory.replaceAll('.', '\\.')}:\\d+:\\d+: appliances\\.${first}\\.ssh\\.port`),
    );
    expect(names.map(acceptedLogins)).toEqual(before);
  });

  it('never prints a secret that came from a file or the environment', async () => {
    const sudo = clientFiles().sudoPassword();
    const inventory = labInventoryFile((doc) => (doc.defaults.sudo.password = 'env:RPCTL_TEST_SUDO'));
    const ok = await facts(inventory, [], { RPCTL_TEST_SUDO: sudo });
    expect(ok.code).toBe(0);
    // a failure path too: the wrong password must not be echoed either
    const failing = await facts(inventory, [], { RPCTL_TEST_SUDO: `${sudo}-wrong` });
    expect(failing.code).toBe(1);
    for (const text of [ok.stdout, ok.stderr, failing.stdout, failing.stderr]) {
      expect(text).not.toContain(sudo);
    }
  });
});
