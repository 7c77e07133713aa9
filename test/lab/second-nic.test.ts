/**
 * The second NIC on networked lab appliances (issue 9): a v4 (ifupdown) and a v7 (netplan)
 * appliance in network namespaces of their own, reached over SSH only through their internal NIC
 * (network.ts). Every change goes through `rpctl apply` against the real files, ifupdown, netplan's
 * generator and coturn; the SSH path really breaks when the internal NIC does.
 */

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFiles,
  down,
  labConfig,
  labExec,
  labProcesses,
  labSh,
  readState,
  reset,
  spec,
  up,
  waitReady,
} from './lab.js';
import { networkLeftovers } from './network.js';
import { EXTERNAL_GATEWAY, INTERNAL_ROUTER, labNics, MANAGEMENT_NETWORK } from './network-addresses.js';
import { acceptedLogins, labInventoryFile, rpctl as rpctlRun, stateFiles } from './rpctl.js';
import { turnPid } from './turn-probe.js';

const cfg = labConfig();
const names = readState()!.appliances.map((a) => a.name);
const v4 = names.find((n) => spec(n).generation === 'v4')!;
const v7 = names.find((n) => spec(n).generation === 'v7')!;
const HOSTS = [v4, v7];
const WINDOW = '10'; // --confirm-timeout of these tests, in seconds
const DNS = '198.51.100.53'; // only ever written into files

/** Everything rpctl printed in this file, checked for secrets at the end. */
const printed: string[] = [];
const rpctl = async (args: string[]) => {
  const result = await rpctlRun(args);
  printed.push(result.stdout, result.stderr);
  return result;
};

let labWasRebuilt = false;
beforeAll(async () => {
  await reset(HOSTS, { networked: true });
}, 300_000);
afterAll(async () => {
  if (!labWasRebuilt) await reset(HOSTS, { networked: false });
}, 300_000);

function network(name: string, internalAddress = labNics(spec(name)).internalAddress) {
  return {
    internal: { address: internalAddress, netmask: '255.255.255.0' },
    external: {
      address: labNics(spec(name)).externalAddress,
      netmask: '255.255.255.128',
      gateway: EXTERNAL_GATEWAY,
      dns: [DNS],
    },
    routes: [{ to: MANAGEMENT_NETWORK, via: INTERNAL_ROUTER }],
  };
}

const inventory = (internal?: (name: string) => string) =>
  labInventoryFile((doc) => {
    for (const name of HOSTS) doc.appliances[name].network = network(name, internal?.(name));
  });

const apply = (inv: string, ...flags: string[]) =>
  rpctl([
    'apply',
    '-i',
    inv,
    '--limit',
    HOSTS.join(','),
    '--recipes',
    'second-nic',
    '--yes',
    '--format',
    'json',
    ...flags,
  ]);

interface JsonHost {
  name: string;
  status: string;
  changes: { deferred: boolean }[];
  error?: { reason: string; message: string };
  notes?: string[];
  rolledBack?: boolean;
  stats?: { connections: number; execs: number };
}
const hostsOf = (stdout: string) => (JSON.parse(stdout) as { hosts: JsonHost[] }).hosts;

const networkFile = (name: string) =>
  spec(name).generation === 'v4' ? '/etc/network/interfaces' : '/etc/netplan/01-netcfg.yaml';

/** What a change must not touch, or a rollback must bring back. */
const snapshot = (name: string) => ({
  files: labSh(name, `sha256sum ${networkFile(name)} /etc/turnserver.conf`),
  addresses: labSh(name, "ip -4 -o addr show | awk '{print $2, $4}'"),
  routes: labSh(name, 'ip -4 route show'),
});

/** Runs whose apply script got as far as backing up files (each has its own directory). */
const backupRuns = (name: string) => labSh(name, 'ls /var/backups/rpctl 2>/dev/null || true').trim();

const noArmedRollback = (name: string) =>
  labSh(name, "ls /var/lib/rpctl/confirm 2>/dev/null; pgrep -f 'rpctl-rollbac[k]' || true").trim() === '';

describe('second-nic on networked appliances (v4 ifupdown, v7 netplan)', () => {
  it('without --allow-disruptive: nothing changes, apply and nic setup exit 2 (deferred)', async () => {
    const before = HOSTS.map(snapshot);
    const pids = HOSTS.map(turnPid);
    const deferred = await apply(inventory());
    expect(deferred.code, deferred.stderr).toBe(2);
    for (const host of hostsOf(deferred.stdout)) {
      expect(host.status).toBe('drift');
      expect(host.changes.map((c) => c.deferred)).toEqual([true, true]);
    }
    const oneOff = await rpctl(['nic', 'setup', '-i', inventory(), '--limit', v4, '--yes']);
    expect(oneOff.code).toBe(2);
    expect(oneOff.stdout).toContain('(disruptive: deferred, needs --allow-disruptive)');
    expect(HOSTS.map(snapshot)).toEqual(before);
    expect(HOSTS.map(turnPid)).toEqual(pids);
    expect(HOSTS.every(noArmedRollback)).toBe(true);
  });

  it("configures the external NIC and a route in the guide's shape, relay-ip and TURN; confirmed over a new connection; again: 0 changes", async () => {
    const inv = inventory();
    const pids = HOSTS.map(turnPid);
    const logins = HOSTS.map(acceptedLogins);
    const started = performance.now();
    const result = await apply(inv, '--allow-disruptive', '--confirm-timeout', WINDOW);
    const applyMs = performance.now() - started;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const host of hostsOf(result.stdout)) {
      expect(host.status).toBe('changed');
      // the confirmation came over a second SSH connection: counted in the stats, said in the report
      expect(host.stats?.connections).toBe(2);
      expect(host.notes?.[0]).toMatch(
        new RegExp(
          `^commit-confirmed: rollback armed for 10 s; a new SSH connection over ${spec(host.name).address.replaceAll('.', '\\.')} after .*; verified; confirmed after`,
        ),
      );
    }
    expect(HOSTS.map(acceptedLogins)).toEqual(logins.map((n) => n + 2));

    const { internalAddress: int4, externalAddress: ext4 } = labNics(spec(v4));
    expect(labSh(v4, 'cat /etc/network/interfaces')).toBe(`# >/etc/network/interfaces
# Written at 2016-11-14 10:30:34 UTC by InterfacesFileWriter
auto lo eth0 eth1
iface lo inet loopback

iface eth0 inet static
   address ${int4}
   netmask 255.255.255.0

iface eth1 inet static
   address ${ext4}
   netmask 255.255.255.128
   gateway 198.51.100.129
   dns-nameservers ${DNS}

post-up route add -net 10.0.50.0 netmask 255.255.255.0 gw 10.40.0.1
`);
    const { internalAddress: int7, externalAddress: ext7 } = labNics(spec(v7));
    expect(
      labSh(v7, 'cat /etc/netplan/01-netcfg.yaml'),
    ).toBe(`# This file was written by the Pexip RP/TURN install wizard
network:
  version: 2
  renderer: networkd
  ethernets:
    nic0:
      dhcp4: false
      dhcp6: false
      addresses:
      - ${int7}/24
      routes:
      - to: 10.0.50.0/24
        via: 10.40.0.1
    nic1:
      dhcp4: false
      dhcp6: false
      addresses:
      - ${ext7}/25
      nameservers:
        addresses:
        - ${DNS}
      routes:
      - to: default
        via: 198.51.100.129
`);
    for (const [name, [internal, external], ip] of [
      [v4, ['eth0', 'eth1'], ext4],
      [v7, ['nic0', 'nic1'], ext7],
    ] as const) {
      // inside the appliance: the real interface and routing table
      expect(labSh(name, `ip -4 -o addr show dev ${external} | awk '{print $4}'`).trim()).toBe(`${ip}/25`);
      const routes = labSh(name, 'ip -4 route show');
      expect(routes).toMatch(new RegExp(`^default via 198\\.51\\.100\\.129 dev ${external}`, 'm'));
      expect(routes).toMatch(new RegExp(`^10\\.0\\.50\\.0/24 via 10\\.40\\.0\\.1 dev ${internal}`, 'm'));
      expect(labSh(name, 'grep ^relay-ip= /etc/turnserver.conf').trim()).toBe(`relay-ip=${ip}`);
    }
    const restarted = HOSTS.map(turnPid);
    for (const [i, pid] of restarted.entries()) expect(pid).not.toBe(pids[i]);

    // confirmed means cancelled: past the window, nothing rolls back
    await new Promise((resolve) => setTimeout(resolve, (Number(WINDOW) + 3) * 1000));
    expect(HOSTS.every(noArmedRollback)).toBe(true);
    expect(labSh(v4, 'ip -4 -o addr show dev eth1')).toContain(ext4);
    expect(HOSTS.map(turnPid)).toEqual(restarted);

    // the files as written pass ifupdown's own dry run and netplan's generator
    expect(
      labSh(v4, 'ifup --no-act --all --interfaces /etc/network/interfaces 2>&1; echo "exit $?"'),
    ).toMatch(/exit 0\n$/);
    expect(labSh(v7, 'netplan generate 2>&1; echo "exit $?"')).toBe('exit 0\n');

    const backups = HOSTS.map(backupRuns);
    const again = await apply(inv, '--allow-disruptive', '--confirm-timeout', WINDOW);
    expect(again.code).toBe(0);
    // 0 changes, no apply exec (only the facts read), so no network or TURN restart
    expect(
      hostsOf(again.stdout).map((h) => [h.status, h.changes.length, h.stats?.connections, h.stats?.execs]),
    ).toEqual([
      ['in-sync', 0, 1, 1],
      ['in-sync', 0, 1, 1],
    ]);
    expect(HOSTS.map(backupRuns)).toEqual(backups);
    expect(HOSTS.map(turnPid)).toEqual(restarted);
    console.log(`second NIC on ${HOSTS.join(' + ')}: apply ${applyMs.toFixed(0)} ms, confirmed`);
  });

  it('a reboot brings the NICs up from the files, as a real boot does', async () => {
    labExec(v7, ['reboot']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await waitReady(cfg, spec(v7));
    expect(labSh(v7, 'ip -4 -o addr show dev nic1')).toContain(labNics(spec(v7)).externalAddress);
    expect(labSh(v7, 'ip -4 route show')).toContain('10.0.50.0/24 via 10.40.0.1 dev nic0');
    const plan = await rpctl(['plan', '-i', inventory(), '--limit', v7, '--recipes', 'second-nic']);
    expect(plan.code, plan.stdout).toBe(0);
  });

  it('a change that breaks the SSH path (wrong internal address): the appliance reverts by itself after the window; rpctl reports it failed', async () => {
    const before = HOSTS.map(snapshot);
    const logins = HOSTS.map(acceptedLogins);
    const wrong = inventory((name) => `10.40.0.${200 + spec(name).index}`);
    const started = performance.now();
    const result = await apply(wrong, '--allow-disruptive', '--confirm-timeout', WINDOW);
    const elapsedMs = performance.now() - started;
    expect(result.code).toBe(1);
    for (const host of hostsOf(result.stdout)) {
      expect(host).toMatchObject({ status: 'failed', rolledBack: true, error: { reason: 'unconfirmed' } });
      expect(host.error?.message).toMatch(
        new RegExp(
          `^${host.name}: no new SSH connection over ${spec(host.name).address.replaceAll('.', '\\.')} within the 10 s window \\(.*\\); the host rolled back by itself; the previous files and state are back$`,
        ),
      );
    }
    // every connection sshd accepted is counted: the first, and the one after the rollback
    const connections = hostsOf(result.stdout).map((h) => h.stats?.connections);
    expect(connections).toEqual([2, 2]);
    expect(HOSTS.map(acceptedLogins)).toEqual(logins.map((n, i) => n + connections[i]!));
    // it waited for the window, and no longer than the rollback takes after it
    expect(elapsedMs).toBeGreaterThan(Number(WINDOW) * 1000);
    expect(elapsedMs).toBeLessThan((Number(WINDOW) + 20) * 1000);
    // the old files and addresses are back, and the host answers on its old address
    expect(HOSTS.map(snapshot)).toEqual(before);
    expect(HOSTS.every(noArmedRollback)).toBe(true);
    const check = await rpctl([
      'plan',
      '-i',
      inventory(),
      '--limit',
      HOSTS.join(','),
      '--recipes',
      'second-nic',
    ]);
    expect(check.code, check.stdout).toBe(0);
    console.log(
      `broken SSH path on ${HOSTS.join(' + ')}: failed and rolled back after ${elapsedMs.toFixed(0)} ms`,
    );
  });

  it('bad input (address, netmask, route): exit 3 naming file, line and field; nothing contacted or changed', async () => {
    const before = HOSTS.map(snapshot);
    const logins = HOSTS.map(acceptedLogins);
    const bad: [(doc: { internal: object; external: object; routes: object[] }) => void, RegExp][] = [
      [
        (n) => Object.assign(n.internal, { address: '10.40.0.256' }),
        /internal\.address: "10\.40\.0\.256" is not an IPv4 address/,
      ],
      [
        (n) => Object.assign(n.external, { netmask: '255.255.0.128' }),
        /external\.netmask: "255\.255\.0\.128" is not a netmask/,
      ],
      [
        (n) => n.routes.push({ to: '10.0.60.0/24', via: '192.0.2.1' }),
        /routes\.1\.via: the gateway 192\.0\.2\.1 must be another address/,
      ],
    ];
    for (const [edit, message] of bad) {
      const inv = labInventoryFile((doc) => {
        for (const name of HOSTS) {
          doc.appliances[name].network = network(name);
          edit(doc.appliances[name].network);
        }
      });
      const result = await apply(inv, '--allow-disruptive', '--confirm-timeout', WINDOW);
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^rpctl: ${inv}:\\d+:\\d+: appliances\\.${v4}\\.network\\.`));
      expect(result.stderr).toMatch(message);
    }
    const flags = await rpctl([
      'nic',
      'setup',
      '-i',
      inventory(),
      '--limit',
      v4,
      '--yes',
      '--allow-disruptive',
      '--external',
      '198.51.100.300/25',
    ]);
    expect(flags).toMatchObject({ code: 3, stdout: '' });
    expect(flags.stderr).toMatch(
      /^rpctl: --external: expected ADDRESS\/PREFIX or ADDRESS\/NETMASK, e\.g\. 10\.40\.0\.2\/24, got "198\.51\.100\.300\/25"\n$/,
    );
    expect(HOSTS.map(acceptedLogins)).toEqual(logins);
    expect(HOSTS.map(snapshot)).toEqual(before);
  });

  it('nic setup: flags replace inventory fields, applied commit-confirmed; --save writes them; apply then finds 0 changes', async () => {
    const inv = inventory();
    const pid = turnPid(v4);
    const newDns = '198.51.100.54';
    const result = await rpctl([
      'nic',
      'setup',
      '-i',
      inv,
      '--limit',
      v4,
      '--dns',
      newDns,
      '--allow-disruptive',
      '--confirm-timeout',
      WINDOW,
      '--yes',
      '--save',
      '--format',
      'json',
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const [host] = hostsOf(result.stdout);
    expect(host).toMatchObject({ name: v4, status: 'changed', stats: { connections: 2 } });
    expect(host!.notes?.[0]).toMatch(/verified; confirmed after/);
    expect(labSh(v4, 'grep dns-nameservers /etc/network/interfaces').trim()).toBe(
      `dns-nameservers ${newDns}`,
    );
    // relay-ip did not change, so TURN was not restarted
    expect(turnPid(v4)).toBe(pid);
    expect(readFileSync(inv, 'utf8')).toContain(newDns);
    const again = await apply(inv, '--allow-disruptive');
    expect(again.code).toBe(0);
    expect(hostsOf(again.stdout).map((h) => [h.status, h.changes.length])).toEqual([
      ['in-sync', 0],
      ['in-sync', 0],
    ]);
  });

  it('no secret in anything printed or recorded', () => {
    const files = clientFiles();
    const secrets = [files.sudoPassword(), files.turnPassword()];
    const recorded = stateFiles().map((f) => readFileSync(f, 'utf8'));
    expect(printed.length).toBeGreaterThan(10);
    for (const text of [...printed, ...recorded])
      for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('lab down leaves no network namespace, veth, relay or process behind', async () => {
    labWasRebuilt = true;
    expect(networkLeftovers(cfg.prefix).netns.length).toBeGreaterThan(0);
    await down(cfg);
    expect(networkLeftovers(cfg.prefix)).toEqual({ netns: [], processes: [], veths: [] });
    expect(labProcesses(cfg)).toEqual([]);
    await up({ count: names.length, generation: 'mixed', state: 'installed' }, cfg);
  });
});
