/**
 * Single-tool benchmarks on N appliances: `apply` adds one conferencing node everywhere and removes
 * it again; `drift` checks an in-sync fleet. Prints wall time, connections and execs per host (one
 * connection per host per run is the budget), and the control process's peak RSS.
 */
import { benchInventory, benchLabConfig, fleetDown, fleetUp, perHost, timeRpctl } from './fleet.js';

type Run = readonly [label: string, args: string[]];

async function bench(
  count: number,
  what: string,
  runs: (inventory: (name: string, extra?: string) => string) => Run[],
) {
  const cfg = benchLabConfig();
  console.log(`bench ${what}: ${count} appliances at ${cfg.prefix}.N`);
  const fleet = await fleetUp(cfg, count);
  console.log(`lab up in ${fleet.seconds.toFixed(1)} s`);
  try {
    const inventory = (name: string, extra?: string) =>
      benchInventory(cfg, name, extra ? (_a, nodes) => [...nodes, extra] : undefined);
    console.log('\nrun                 wall s  statuses            conn/host  execs/host  peak RSS MB');
    for (const [label, args] of runs(inventory)) {
      const run = timeRpctl(cfg, [...args, '--format', 'json']);
      if (!run.stdout)
        throw new Error(`${label}: rpctl exited ${run.code}: ${run.stderr.trim().split('\n')[0]}`);
      const stats = perHost(run.stdout);
      const conn = [...new Set(stats.connections)].join('/');
      const execs = [...new Set(stats.execs)].join('/');
      console.log(
        `${label.padEnd(20)}${run.seconds.toFixed(2).padStart(6)}  ${JSON.stringify(stats.statuses).padEnd(20)}${conn.padStart(9)}  ${execs.padStart(10)}  ${run.peakRssMb.toFixed(0).padStart(11)}`,
      );
      if (stats.connections.some((c) => c !== 1))
        console.log('  !! a host used more than one SSH connection');
    }
  } finally {
    await fleetDown(cfg);
  }
}

export const benchApply = (count: number) =>
  bench(count, 'apply', (inventory) => [
    ['apply (add a node)', ['apply', '-i', inventory('bench-add', '127.0.3.77'), '--yes']],
    ['apply (revert)', ['apply', '-i', inventory('bench-revert'), '--yes']],
  ]);

export const benchDrift = (count: number) =>
  bench(count, 'drift', (inventory) => [
    ['drift (in sync)', ['drift', '-i', inventory('bench-drift')]],
    ['drift (again)', ['drift', '-i', inventory('bench-drift')]],
  ]);
