/**
 * Rolling changes: which hosts change together.
 *
 * - `--serial N|N%` cuts the hosts to change into batches; a batch finishes before the next starts.
 * - `--max-fail N|N%` stops before the next batch once more hosts than that have failed.
 * - a group's `serial` (inventory) caps how many of ITS appliances change at once, across batches,
 *   so the two proxies behind one SRV record never reload together whatever the global flags say.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { GroupConfig, Serial } from '../inventory/model.js';

export function resolveCount(serial: Serial, total: number): number {
  if ('count' in serial) return Math.max(1, serial.count);
  return Math.max(1, Math.floor((total * serial.percent) / 100));
}

export function batches<T>(items: readonly T[], serial: Serial | undefined): T[][] {
  if (items.length === 0) return [];
  const size = serial ? resolveCount(serial, items.length) : items.length;
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Failures allowed before stopping; undefined = never stop. */
export function failureBudget(maxFail: Serial | undefined, total: number): number | undefined {
  if (!maxFail) return undefined;
  if ('count' in maxFail) return maxFail.count;
  return Math.floor((total * maxFail.percent) / 100);
}

/**
 * One limiter per group that sets `serial`, sized against that group's selected members.
 * `run(groups, fn)` takes the limiters of every group the host belongs to, always in name order so
 * two hosts can never wait on each other.
 */
export class GroupLimits {
  private readonly limits = new Map<string, LimitFunction>();

  constructor(groups: ReadonlyMap<string, GroupConfig>, members: ReadonlyMap<string, number>) {
    for (const [name, group] of groups) {
      if (group.serial) this.limits.set(name, pLimit(resolveCount(group.serial, members.get(name) ?? 1)));
    }
  }

  run<T>(hostGroups: readonly string[], fn: () => Promise<T>): Promise<T> {
    const limits = [...new Set(hostGroups)]
      .sort()
      .map((g) => this.limits.get(g))
      .filter((l): l is LimitFunction => l !== undefined);
    return limits.reduceRight<() => Promise<T>>((inner, limit) => () => limit(inner), fn)();
  }
}
