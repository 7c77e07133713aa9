/**
 * What every benchmark needs: a lab fleet at its own addresses (default 127.0.20.N, so a
 * developer's lab at 127.0.2.N is left alone), an inventory with absolute paths, and a way to time
 * the real CLI (`node bin/rpctl`) with its peak memory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  applianceRoot,
  clientFiles,
  down,
  type LabConfig,
  type LabState,
  labConfig,
  TURN_USER,
  up,
} from '../test/lab/lab.js';
import type { Route } from './wan.js';

export const BENCH_PREFIX = '127.0.20';

export function benchLabConfig(): LabConfig {
  return labConfig({ ...process.env, RPCTL_LAB_PREFIX: process.env.RPCTL_LAB_PREFIX ?? BENCH_PREFIX });
}

export async function fleetUp(cfg: LabConfig, count: number): Promise<{ state: LabState; seconds: number }> {
  const started = Date.now();
  const state = await up({ count, generation: 'mixed', state: 'installed' }, cfg);
  return { state, seconds: (Date.now() - started) / 1000 };
}

export const fleetDown = (cfg: LabConfig) => down(cfg);

/**
 * A file as the appliance has it, read from the host side of its /etc overlay (no SSH, so reading
 * it costs the benchmark nothing it measures).
 */
export function applianceFile(cfg: LabConfig, name: string, path: string): Buffer | undefined {
  if (!path.startsWith('/etc/')) throw new Error(`bench: ${path} is not under /etc`);
  const upper = join(applianceRoot(name, cfg), 'etc-upper', path.slice('/etc/'.length));
  if (existsSync(upper)) return lstatSync(upper).isFile() ? readFileSync(upper) : undefined; // else a whiteout
  return existsSync(path) ? readFileSync(path) : undefined;
}

export interface BenchInventoryOptions {
  /** only the first N appliances (the fleet-size curve reuses one lab) */
  size: number;
  /** a conferencing node added to every appliance's upstreams */
  addNode?: string;
  /** how each appliance's sshd is reached (directly, or through the WAN relay) */
  route: Route;
}

/**
 * The lab's inventory with absolute paths, managing every recipe at the values the appliances
 * have (each one's current pexip.pem, the lab's TURN user, no external-ip, fail2ban as shipped), so
 * a drift check reads everything rpctl can manage.
 */
export function benchInventory(cfg: LabConfig, name: string, options: BenchInventoryOptions): string {
  const files = clientFiles(cfg);
  const doc = parse(readFileSync(files.inventory, 'utf8'));
  doc.defaults.ssh.identityFile = files.identityFile;
  doc.defaults.ssh.knownHosts = options.route.knownHosts;
  doc.defaults.sudo.password = `file:${files.sudoPasswordFile}`;
  const pemDir = join(cfg.labDir, 'bench-pems');
  mkdirSync(pemDir, { recursive: true, mode: 0o700 });
  const names = Object.keys(doc.appliances);
  for (const appliance of names.slice(options.size)) delete doc.appliances[appliance];
  for (const appliance of names.slice(0, options.size)) {
    const settings = doc.appliances[appliance];
    const { address, port } = options.route.endpoint(appliance);
    settings.host = address;
    if (port !== 22) settings.ssh = { ...settings.ssh, port };
    if (options.addNode) settings.upstreams.nodes = [...settings.upstreams.nodes, options.addNode];
    const pem = join(pemDir, `${appliance}.pem`);
    const content = applianceFile(cfg, appliance, '/etc/nginx/ssl/pexip.pem');
    if (!content) throw new Error(`bench: ${appliance} has no /etc/nginx/ssl/pexip.pem`);
    writeFileSync(pem, content, { mode: 0o600 });
    settings.certificate = { pem: `file:${pem}` };
    settings.turn = {
      credentials: { username: TURN_USER, password: `file:${files.turnPasswordFile}` },
      externalIp: null,
    };
    settings.fail2ban = { enabled: false, bantime: 300, findtime: 300, maxretry: 10 };
  }
  const path = join(cfg.labDir, `${name}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}

/** SSH logins each appliance's sshd has accepted so far (from its auth.log, read host side). */
export function acceptedLogins(cfg: LabConfig, names: readonly string[]): number[] {
  return names.map((name) => {
    const log = join(applianceRoot(name, cfg), 'var-upper', 'log', 'auth.log');
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    return text.split('\n').filter((line) => line.startsWith('Accepted ')).length;
  });
}

/**
 * CPU seconds the whole machine has spent busy so far (every core; user, nice, system, irq,
 * softirq, steal from /proc/stat): over a run, what the fleet and the control node paid together.
 */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ, the unit of /proc/stat: 100 on every Linux architecture Node runs on */
const CLOCK_TICKS_PER_SECOND = 100;

export interface Timed {
  seconds: number;
  peakRssMb: number;
  /** CPU seconds (user + system) of the control process and the children it waited for */
  cpuSeconds: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command under GNU time: wall clock and the peak RSS of its largest process. */
export function timeCommand(argv: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Timed {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '@rss %M %U %S', ...argv], {
    encoding: 'utf8',
    cwd,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const usage = /@rss (\d+) ([\d.]+) ([\d.]+)/.exec(result.stderr);
  return {
    seconds,
    peakRssMb: usage ? Number(usage[1]) / 1024 : Number.NaN,
    cpuSeconds: usage ? Number(usage[2]) + Number(usage[3]) : Number.NaN,
    code: result.status ?? -1,
    stdout: result.stdout,
    stderr: result.stderr.replace(/@rss .*\n?/, ''),
  };
}

/** `bin/rpctl ARGS` as a user runs it (its shebang's node flags count), records kept in the bench lab. */
export const timeRpctl = (cfg: LabConfig, args: string[]): Timed =>
  timeCommand([join(cfg.repoRoot, 'bin', 'rpctl'), ...args], {
    RPCTL_STATE_DIR: join(cfg.labDir, 'state'),
  });

interface JsonHosts {
  hosts: {
    name: string;
    status: string;
    error?: { reason: string; message: string };
    stats?: { connections: number; execs: number };
  }[];
}

/** Each host's status and error, and the connections and execs per host, from a --format json report. */
export function perHost(report: string): {
  hosts: { name: string; status: string; error?: string }[];
  connections: number[];
  execs: number[];
} {
  const { hosts } = JSON.parse(report) as JsonHosts;
  return {
    hosts: hosts.map((h) => ({ name: h.name, status: h.status, error: h.error?.message })),
    connections: hosts.map((h) => h.stats?.connections ?? 0),
    execs: hosts.map((h) => h.stats?.execs ?? 0),
  };
}
