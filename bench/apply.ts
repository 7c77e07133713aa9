/**
 * The apply benchmark: on N appliances, add one conferencing node everywhere, then remove it.
 * Prints wall time, connections and execs per host (one connection per host per run is the
 * budget), and the control process's peak RSS.
 */
import { benchInventory, benchLabConfig, fleetDown, fleetUp, perHost, timeRpctl } from './fleet.js';

export async function benchApply(count: number): Promise<void> {
  const cfg = benchLabConfig();
  console.log(`bench apply: ${count} appliances at ${cfg.prefix}.N`);
  const fleet = await fleetUp(cfg, count);
  console.log(`lab up in ${fleet.seconds.toFixed(1)} s`);
  try {
    const runs = [
      ['apply (add a node)', benchInventory(cfg, 'bench-add', (_a, nodes) => [...nodes, '127.0.3.77'])],
      ['apply (revert)', benchInventory(cfg, 'bench-revert')],
    ] as const;
    console.log('\nrun                 wall s  statuses            conn/host  execs/host  peak RSS MB');
    for (const [label, inventory] of runs) {
      const run = timeRpctl(cfg, ['apply', '-i', inventory, '--yes', '--format', 'json']);
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
