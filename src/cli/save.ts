/**
 * `--save` for one-off commands: what an apply reached is written back into the inventory
 * (comments kept), for the appliances that reached it and no other.
 *
 *   await saveReached(ctx, flags, result, (name) => [
 *     { op: 'set', path: ['appliances', name, 'turn', 'externalIp'], value },
 *   ]);
 */
import { dirname, resolve } from 'node:path';
import type { FleetResult, HostOutcome } from '../engine/run.js';
import { type InventoryEdit, updateInventoryFile } from '../inventory/save.js';
import { type InventoryOptions, inventoryFile } from './common.js';
import type { CommandContext } from './program.js';

/** The appliances that are in the desired state after the run: changed, or already in sync. */
export const reachedHosts = (result: FleetResult): HostOutcome[] =>
  result.hosts.filter((h) => h.status === 'changed' || h.status === 'in-sync');

/** Write `edits` for the appliances that reached the new state; say which did not. */
export async function saveReached(
  ctx: CommandContext,
  flags: InventoryOptions,
  result: FleetResult,
  edits: (name: string, inventoryDir: string) => InventoryEdit[],
): Promise<void> {
  if (!result.confirmed) return;
  const file = resolve(ctx.io.cwd, inventoryFile(ctx, flags));
  const reached = reachedHosts(result);
  const others = result.hosts.filter((h) => !reached.includes(h)).map((h) => h.name);
  if (reached.length > 0) {
    await updateInventoryFile(
      file,
      reached.flatMap((h) => edits(h.name, dirname(file))),
    );
    ctx.io.stderr.write(`saved to ${file} for ${reached.map((h) => h.name).join(', ')}\n`);
  }
  if (others.length > 0) ctx.io.stderr.write(`not saved for ${others.join(', ')} (not applied)\n`);
}
