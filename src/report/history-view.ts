/**
 * `rpctl drift history` output: per host and recipe, the current state (since when, last check,
 * last in sync) and below it the earlier spans of the window. On a terminal times read "3 h ago";
 * elsewhere (files, pipes, JSON) they stay ISO 8601 so scripts can compare them.
 */
import type { DriftSpan } from './history.js';

/** `just now`, `12 min ago`, `5 h ago`, `3 d ago`. */
export function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 2 * 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

const STATE_WORDS: Record<DriftSpan['state'], string> = {
  'in-sync': 'in sync',
  drift: 'drift',
  unreachable: 'unreachable',
  failed: 'failed',
};

export function historyText(
  spans: readonly DriftSpan[],
  options: { relative: boolean; now: number; fleets: boolean },
): string {
  if (spans.length === 0) return 'no checks recorded yet: run rpctl drift\n';
  const time = (iso: string) => (options.relative ? ago(iso, options.now) : iso);
  const groups = new Map<string, DriftSpan[]>();
  for (const span of spans) {
    const key = JSON.stringify([span.fleet, span.host, span.recipe]);
    groups.set(key, [...(groups.get(key) ?? []), span]);
  }
  const lines: string[] = [];
  for (const group of groups.values()) {
    const current = group.at(-1)!;
    const name = `${options.fleets ? `${current.fleet}: ` : ''}${current.host}\t${current.recipe}`;
    const synced = current.lastInSync ? `, last in sync ${time(current.lastInSync)}` : '';
    const changes = current.changes.length ? `\t${current.changes.join('; ')}` : '';
    const state = `${STATE_WORDS[current.state]} since ${time(current.since)}`;
    lines.push(`${name}\t${state}\t(last check ${time(current.lastCheck)}${synced})${changes}`);
    // the earlier spans of the window, newest first
    for (const span of group.slice(0, -1).reverse()) {
      const changed = span.changes.length ? `: ${span.changes.join('; ')}` : '';
      lines.push(
        `  ${STATE_WORDS[span.state]} from ${time(span.since)} until ${time(span.until!)}${changed}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
