/**
 * What every benchmark needs: a lab fleet at its own addresses (default 127.0.20.N, so a
 * developer's lab at 127.0.2.N is left alone), an inventory with absolute paths, and a way to time
 * the real CLI (`node bin/rpctl`) with its peak memory.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { clientFiles, down, type LabConfig, type LabState, labConfig, up } from '../test/lab/lab.js';

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

/** The lab's inventory with absolute paths, each appliance's upstream nodes set by `nodes`. */
export function benchInventory(
  cfg: LabConfig,
  name: string,
  nodes?: (appliance: string, current: string[]) => string[],
): string {
  const files = clientFiles(cfg);
  const doc = parse(readFileSync(files.inventory, 'utf8'));
  doc.defaults.ssh.identityFile = files.identityFile;
  doc.defaults.ssh.knownHosts = files.knownHosts;
  doc.defaults.sudo.password = `file:${files.sudoPasswordFile}`;
  if (nodes) {
    for (const [appliance, settings] of Object.entries<{ upstreams: { nodes: string[] } }>(doc.appliances)) {
      settings.upstreams.nodes = nodes(appliance, settings.upstreams.nodes);
    }
  }
  const path = join(cfg.labDir, `${name}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}

export interface Timed {
  seconds: number;
  peakRssMb: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `node bin/rpctl ARGS` under GNU time: wall clock and the control process's peak RSS. */
export function timeRpctl(cfg: LabConfig, args: string[]): Timed {
  const started = process.hrtime.bigint();
  const result = spawnSync(
    '/usr/bin/time',
    ['-f', '@rss %M', process.execPath, join(cfg.repoRoot, 'bin', 'rpctl'), ...args],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, NO_COLOR: '1', RPCTL_STATE_DIR: join(cfg.labDir, 'state') },
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = /@rss (\d+)/.exec(result.stderr)?.[1];
  return {
    seconds,
    peakRssMb: rss ? Number(rss) / 1024 : Number.NaN,
    code: result.status ?? -1,
    stdout: result.stdout,
    stderr: result.stderr.replace(/@rss \d+\n?/, ''),
  };
}

interface JsonHosts {
  hosts: { name: string; status: string; stats?: { connections: number; execs: number } }[];
}

/** Connections and execs per host from a --format json report. */
export function perHost(report: string): {
  statuses: Record<string, number>;
  connections: number[];
  execs: number[];
} {
  const { hosts } = JSON.parse(report) as JsonHosts;
  const statuses: Record<string, number> = {};
  for (const h of hosts) statuses[h.status] = (statuses[h.status] ?? 0) + 1;
  return {
    statuses,
    connections: hosts.map((h) => h.stats?.connections ?? 0),
    execs: hosts.map((h) => h.stats?.execs ?? 0),
  };
}
