/**
 * The lab recovers from a crashed run and leaves nothing behind on `down`. This file takes the
 * shared lab down and brings it back up, so later test files find it as the global setup left it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { down, labConfig, labProcesses, readState, status, up } from './lab.js';

const cfg = labConfig();
const count = readState(cfg)?.appliances.length ?? 4;

function leftovers() {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((line) => line.includes(cfg.labDir));
  const sockets = spawnSync('ss', ['-Htuln'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((line) => line.includes(` ${cfg.prefix}.`));
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((line) => line.startsWith(`rpctl-lab-${cfg.prefix.replaceAll('.', '-')}`));
  return { processes: labProcesses(cfg), mounts, sockets, netns, stateDir: existsSync(cfg.labDir) };
}

describe('lab lifecycle', () => {
  afterAll(async () => {
    await up({ count, generation: 'mixed', state: 'installed' });
  }, 300_000);

  it('comes up again after its processes were killed (a crashed run)', async () => {
    for (const pid of labProcesses(cfg)) process.kill(pid, 'SIGKILL');
    await up({ count: 2 });
    expect(status(cfg).map((s) => s.running)).toEqual([true, true]);
  });

  it('comes up after an `up` that was killed half-way', async () => {
    const cli = join(cfg.repoRoot, 'dist', 'test', 'lab', 'cli.js');
    const child = spawn(process.execPath, [cli, 'up', '--count', '3'], { stdio: 'ignore', env: process.env });
    // kill it while appliances are being built
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await up({ count: 2 });
    expect(status(cfg).map((s) => s.running)).toEqual([true, true]);
  });

  it('leaves no process, mount, socket, namespace or state behind on down', async () => {
    expect(leftovers().processes.length).toBeGreaterThan(0);
    await down();
    expect(leftovers()).toEqual({ processes: [], mounts: [], sockets: [], netns: [], stateDir: false });
  });
});
