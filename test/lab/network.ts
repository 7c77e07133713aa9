/**
 * The networked flavour of a lab appliance (issue 9): the appliance runs in a network namespace of
 * its own whose NICs are real veth interfaces, and SSH reaches it only through its internal NIC, so
 * breaking that NIC really breaks rpctl's path to it.
 *
 *   host (loopback only)          hub namespace (lab-made)                    appliance namespace
 *   PREFIX.N:22  socat relay ──>  socat from 10.0.50.10 ── br-int 10.40.0.1 ─── eth0/nic0 10.40.0.(10+N)
 *                                                          br-ext 198.51.100.129 ─ eth1/nic1 (unset)
 *
 * The relay listens on the appliance's loopback address and, per connection, connects from inside
 * the hub to the address the appliance's internal NIC was built with (a second one does the same
 * for :443, which a real appliance's management address serves too). Host-side addresses stay
 * loopback only; nothing is routed back to the host. The hub drops packets arriving on the wrong
 * side (rp_filter), like a DMZ firewall would, so a missing static route breaks SSH as it does on
 * real networks. Every namespace is named `rpctl-lab-<prefix>-...`, so `down` removes exactly this
 * lab's; the veths live only inside those namespaces and go with them.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { ApplianceSpec } from './files.js';
import {
  applianceNetns,
  EXTERNAL_GATEWAY,
  EXTERNAL_PREFIX,
  hubNetns,
  hubPort,
  INTERNAL_PREFIX,
  INTERNAL_ROUTER,
  labNics,
  MANAGEMENT_CLIENT,
  netnsBase,
} from './network-addresses.js';

export interface NetworkLab {
  prefix: string;
  /** the appliance's directory (its seed, logs, pid files) */
  applianceDir(name: string): string;
}

function ip(args: string[]): string {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`lab: ip ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

const netnsExists = (name: string) => existsSync(`/run/netns/${name}`);

/** The hub: the management network's client address, the LAN router and the DMZ firewall. */
function ensureHub(prefix: string): void {
  const hub = hubNetns(prefix);
  if (netnsExists(hub)) return;
  ip(['netns', 'add', hub]);
  ip(['-n', hub, 'link', 'set', 'lo', 'up']);
  ip(['-n', hub, 'addr', 'add', `${MANAGEMENT_CLIENT}/32`, 'dev', 'lo']);
  for (const [bridge, address] of [
    ['br-int', `${INTERNAL_ROUTER}/${INTERNAL_PREFIX}`],
    ['br-ext', `${EXTERNAL_GATEWAY}/${EXTERNAL_PREFIX}`],
  ] as const) {
    ip(['-n', hub, 'link', 'add', bridge, 'type', 'bridge']);
    ip(['-n', hub, 'addr', 'add', address, 'dev', bridge]);
    ip(['-n', hub, 'link', 'set', bridge, 'up']);
  }
  const sysctl = spawnSync('ip', ['netns', 'exec', hub, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=1']);
  if (sysctl.status !== 0) throw new Error(`lab: cannot set rp_filter in ${hub}`);
}

/** A fresh network namespace for the appliance, its two NICs plugged into the hub's bridges. */
export function createApplianceNetwork(lab: NetworkLab, spec: ApplianceSpec): void {
  ensureHub(lab.prefix);
  removeApplianceNetwork(lab, spec);
  const hub = hubNetns(lab.prefix);
  const ns = applianceNetns(lab.prefix, spec.name);
  const nics = labNics(spec);
  ip(['netns', 'add', ns]);
  for (const [side, nic, bridge] of [
    ['internal', nics.internalName, 'br-int'],
    ['external', nics.externalName, 'br-ext'],
  ] as const) {
    const port = hubPort(lab.prefix, spec.index, side);
    ip(['-n', hub, 'link', 'add', port, 'type', 'veth', 'peer', 'name', nic, 'netns', ns]);
    ip(['-n', hub, 'link', 'set', port, 'master', bridge, 'up']);
  }
  // supervise.sh runs the appliance in the namespace named here
  writeFileSync(join(lab.applianceDir(spec.name), 'netns'), `${ns}\n`);
}

/** Remove the appliance's namespace (its processes must be stopped) and the hub's ends of its NICs. */
export function removeApplianceNetwork(lab: NetworkLab, spec: Pick<ApplianceSpec, 'name' | 'index'>): void {
  const ns = applianceNetns(lab.prefix, spec.name);
  deleteNamespace(ns);
  const hub = hubNetns(lab.prefix);
  if (!netnsExists(hub)) return;
  for (const side of ['internal', 'external'] as const) {
    const port = hubPort(lab.prefix, spec.index, side);
    spawnSync('ip', ['-n', hub, 'link', 'del', port], { stdio: 'ignore' });
  }
}

/**
 * The relays at the appliance's loopback address: SSH (22), and HTTPS (443), which a real
 * appliance's management address serves too (rpctl's TLS probes after an nginx change). Their
 * command lines name the appliance's directory (the connect scripts), so the lab's process
 * clean-up finds and ends them with the appliance.
 */
export async function startRelay(lab: NetworkLab, spec: ApplianceSpec): Promise<void> {
  for (const port of RELAYED_PORTS) await startPortRelay(lab, spec, port);
}

const RELAYED_PORTS = [22, 443] as const;

async function startPortRelay(lab: NetworkLab, spec: ApplianceSpec, port: number): Promise<void> {
  const dir = lab.applianceDir(spec.name);
  const suffix = port === 22 ? '' : `-${port}`;
  const connect = join(dir, `relay-connect${suffix}.sh`);
  const target = `TCP:${labNics(spec).internalAddress}:${port},bind=${MANAGEMENT_CLIENT}`;
  writeFileSync(
    connect,
    `#!/bin/sh\n# one connection to :${port}, from the management network inside the hub\nexec nsenter --net=/run/netns/${hubNetns(lab.prefix)} socat STDIO ${target}\n`,
    { mode: 0o755 },
  );
  const log = openSync(join(dir, 'relay.log'), 'a');
  const relay = spawn(
    'socat',
    [`TCP-LISTEN:${port},bind=${spec.address},fork,reuseaddr`, `EXEC:${connect}`],
    {
      detached: true,
      stdio: ['ignore', log, log],
    },
  );
  closeSync(log);
  relay.unref();
  writeFileSync(join(dir, `relay${suffix}.pid`), `${relay.pid}\n`);
  for (let i = 0; i < 100; i++) {
    if (await listening(spec.address, port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`lab: ${spec.name}: the relay at ${spec.address}:${port} did not start`);
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** True when an SSH server answers through the relay (the relay itself accepts at once). */
export function sshAnswers(host: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: 22 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('SSH-')));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** Network namespaces of this lab (hub and appliances). */
export function labNamespaces(prefix: string): string[] {
  const base = netnsBase(prefix);
  const names = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  return names.filter((name) => name === `${base}-hub` || name.startsWith(`${base}-`));
}

/** PIDs of processes inside a network namespace of this lab (relay halves in the hub, appliance processes). */
function processesIn(ns: string): number[] {
  let inode: number;
  try {
    inode = statSync(`/run/netns/${ns}`).ino;
  } catch {
    return [];
  }
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/net`) === `net:[${inode}]`;
      } catch {
        return false;
      }
    });
}

function killInNamespace(ns: string): void {
  for (const pid of processesIn(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Remove every namespace of this lab, ending what still runs inside (after the appliances stopped). */
export function cleanupNetwork(prefix: string): void {
  for (const ns of labNamespaces(prefix)) deleteNamespace(ns);
}

function deleteNamespace(ns: string): void {
  killInNamespace(ns);
  // a namespace bound twice at the same path (a crashed run) needs one `del` per binding
  for (let i = 0; i < 5 && netnsExists(ns); i++) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

/** What a networked lab could leave behind: namespaces, their processes, hub veths seen on the host. */
export function networkLeftovers(prefix: string): { netns: string[]; processes: number[]; veths: string[] } {
  const namespaces = labNamespaces(prefix);
  const [, second, third] = prefix.split('.');
  const veths = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
    .filter((name) => name.startsWith(`l${second}-${third}-`));
  return { netns: namespaces, processes: namespaces.flatMap(processesIn), veths };
}

/** Lines of a relay's log, for a failure message. */
export function relayLog(lab: NetworkLab, name: string): string {
  const path = join(lab.applianceDir(name), 'relay.log');
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
