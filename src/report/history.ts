/**
 * The history of drift checks and applies: one JSON line per host and run, one file per fleet in
 * the state directory (`history/<fleet>-<hash>.jsonl`, see records.ts), so `rpctl drift history`
 * can say since when a host and recipe have drifted and when they were last in sync, and an apply
 * can tell a corrective change (the appliance drifted from a desired state that did not change)
 * from an intentional one (the inventory changed), as Puppet's reports do.
 *
 * A fleet is an inventory's identity (its `fleet:` name, else its absolute path): two inventories
 * that both have a `lab-1` never mix. Entries older than the inventory's `history.keep` are
 * dropped. The history.jsonl of older versions (keyed by host name alone) is left alone, unread.
 *
 * Desired states are kept as keyed digests (HMAC with a local key), never as values: a desired
 * state may hold a secret.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type FleetResult, type HostStatus, isFailure } from '../engine/run.js';
import { dirModeIn, fileModeIn, stateDir } from './records.js';

export interface HistoryEntry {
  /** the inventory's identity (`fleet:` name or absolute path) */
  fleet: string;
  time: string;
  runId: string;
  mode: 'drift' | 'apply';
  host: string;
  status: HostStatus;
  /** changes: still pending after the run (drift); applied: what an apply changed */
  recipes: Record<string, { drift: boolean; digest?: string; changes: string[]; applied?: string[] }>;
  /** days until the served certificate expires, when it was checked */
  certificateDaysLeft?: number;
}

export type ChangeKind = 'corrective' | 'intentional';

/** Past this size a fleet's history keeps its newest half, whatever its retention. */
const MAX_BYTES = 64 * 1024 * 1024;
/** Old entries are dropped once the oldest is this much older than the retention (not every run). */
const PRUNE_SLACK_MS = 86_400_000;

/** The file of the history of older versions: every fleet mixed, keyed by host name alone. */
export const legacyHistoryFile = (env: NodeJS.ProcessEnv) => join(stateDir(env), 'history.jsonl');

/** `prod-eu-3f2a1c9e0b7d4a16.jsonl`: readable, and distinct for names that slug alike. */
function fleetFileName(fleet: string): string {
  const slug = fleet
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+/, '')
    .slice(-40);
  return `${slug || 'fleet'}-${createHash('sha256').update(fleet).digest('hex').slice(0, 16)}.jsonl`;
}

/** The start of a file, without reading the rest (the history may be tens of MB). */
function firstBytes(path: string, count: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(count);
    return buffer.subarray(0, readSync(fd, buffer, 0, count, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function parseLines(text: string): HistoryEntry[] {
  return text.split('\n').flatMap((line) => {
    try {
      return line ? [JSON.parse(line) as HistoryEntry] : [];
    } catch {
      return []; // a line cut short by a crash: skip it
    }
  });
}

export class History {
  readonly path: string;
  private readonly keyPath: string;

  /** `fleet` is the inventory's identity (`Inventory.fleet`). */
  constructor(
    env: NodeJS.ProcessEnv,
    readonly fleet: string,
  ) {
    const dir = stateDir(env);
    this.path = join(dir, 'history', fleetFileName(fleet));
    this.keyPath = join(dir, 'history.key');
  }

  /** Every fleet's entries in the state directory (`drift history` without an inventory). */
  static readAll(env: NodeJS.ProcessEnv): HistoryEntry[] {
    const dir = join(stateDir(env), 'history');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((name) => name.endsWith('.jsonl'))
      .flatMap((name) => parseLines(readFileSync(join(dir, name), 'utf8')))
      .sort((a, b) => a.time.localeCompare(b.time));
  }

  /** A keyed digest of a desired state, comparable across runs on this machine. */
  digest(value: unknown): string {
    return createHmac('sha256', this.key()).update(canonical(value)).digest('hex').slice(0, 32);
  }

  read(): HistoryEntry[] {
    if (!existsSync(this.path)) return [];
    return parseLines(readFileSync(this.path, 'utf8')).filter((e) => e.fleet === this.fleet);
  }

  /** Add a run's entries; drop those older than `keepMs` (checked cheaply, pruned rarely). */
  append(entries: readonly HistoryEntry[], keepMs: number, now = Date.now()): void {
    if (entries.length === 0) return;
    const dir = join(this.path, '..');
    mkdirSync(dir, { recursive: true, mode: dirModeIn(join(dir, '..')) });
    appendFileSync(this.path, entries.map((e) => `${JSON.stringify(e)}\n`).join(''), {
      mode: fileModeIn(dir),
    });
    const oldest = parseLines(firstBytes(this.path, 64 * 1024))[0];
    const expired = oldest && Date.parse(oldest.time) < now - keepMs - PRUNE_SLACK_MS;
    if (expired || statSync(this.path).size > MAX_BYTES) this.prune(now - keepMs);
  }

  /**
   * Keep the entries since `cutoff`, and at most the newest half when the file is too big. A run
   * appending between the read and the rename loses its lines: rare (pruning happens about once a
   * day), and the next check writes them again.
   */
  private prune(cutoff: number): void {
    const kept = readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((line) => line && !(Date.parse(parseLines(line)[0]?.time ?? '') < cutoff));
    const lines = kept.join('\n').length > MAX_BYTES ? kept.slice(Math.floor(kept.length / 2)) : kept;
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, lines.length ? `${lines.join('\n')}\n` : '', {
      mode: fileModeIn(join(this.path, '..')),
    });
    renameSync(tmp, this.path);
  }

  private key(): Buffer {
    if (!existsSync(this.keyPath)) {
      const dir = join(this.keyPath, '..');
      mkdirSync(dir, { recursive: true, mode: 0o700 }); // a new state directory is private
      writeFileSync(this.keyPath, randomBytes(32).toString('hex'), { mode: fileModeIn(dir), flag: 'wx' });
    }
    return Buffer.from(readFileSync(this.keyPath, 'utf8').trim(), 'hex');
  }
}

/** JSON with sorted keys, so equal values digest equally. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

/** History lines for a finished drift check or apply. */
export function historyEntries(
  result: FleetResult,
  fleet: string,
  extra: (host: string) => Partial<HistoryEntry> = () => ({}),
): HistoryEntry[] {
  const mode = result.mode === 'apply' ? 'apply' : 'drift';
  return result.hosts.map((host) => {
    const recipes: HistoryEntry['recipes'] = {};
    for (const m of host.managed) {
      const of = (list: typeof host.changes) =>
        list.filter((c) => c.recipe === m.recipe).map((c) => c.summary);
      // drift: every planned change is pending; apply: the deferred ones are, the rest were applied
      const pending = mode === 'drift' ? [...of(host.changes), ...of(host.pending)] : of(host.pending);
      const applied = mode === 'apply' && host.status === 'changed' ? of(host.changes) : [];
      recipes[m.recipe] = {
        drift: pending.length > 0,
        ...(m.digest ? { digest: m.digest } : {}),
        changes: pending,
        ...(applied.length ? { applied } : {}),
      };
    }
    return {
      fleet,
      time: result.startedAt,
      runId: result.runId,
      mode,
      host: host.name,
      status: host.status,
      recipes,
      ...extra(host.name),
    };
  });
}

/**
 * Corrective: the last known desired state of this host and recipe is the one applied now, so the
 * appliance changed behind rpctl's back. Intentional: the inventory changed (or nothing is known).
 */
export function changeKind(
  history: readonly HistoryEntry[],
  host: string,
  recipe: string,
  digest: string | undefined,
): ChangeKind {
  for (let i = history.length - 1; i >= 0; i--) {
    const entry = history[i]!;
    const known = entry.host === host ? entry.recipes[recipe]?.digest : undefined;
    if (known !== undefined) return known === digest ? 'corrective' : 'intentional';
  }
  return 'intentional';
}

export interface DriftSpan {
  fleet: string;
  host: string;
  recipe: string;
  state: 'drift' | 'in-sync' | 'unreachable' | 'failed';
  /** when the state was first seen in an unbroken run of checks */
  since: string;
  /** the last check that saw this state */
  lastCheck: string;
  /** when the next state was first seen; absent for the current state */
  until?: string;
  changes: string[];
  /** the current state only, when it is not in sync: the last check that found it in sync */
  lastInSync?: string;
}

/** Every span of every host and recipe, oldest first within each; `since` (ms) drops those that ended before. */
export function timeline(
  history: readonly HistoryEntry[],
  options: { hosts?: ReadonlySet<string>; since?: number } = {},
): DriftSpan[] {
  const byKey = new Map<string, DriftSpan[]>();
  for (const entry of history) {
    if (options.hosts && !options.hosts.has(entry.host)) continue;
    // an apply whose outcome is unknown is not known good: a failure in the timeline
    const broken = isFailure(entry.status);
    for (const [recipe, value] of Object.entries(entry.recipes)) {
      const state: DriftSpan['state'] = broken
        ? entry.status === 'unreachable'
          ? 'unreachable'
          : 'failed'
        : value.drift
          ? 'drift'
          : 'in-sync';
      const key = JSON.stringify([entry.fleet, entry.host, recipe]);
      const spans = byKey.get(key) ?? byKey.set(key, []).get(key)!;
      const last = spans.at(-1);
      if (last?.state === state) {
        last.lastCheck = entry.time;
        if (state === 'drift') last.changes = value.changes;
        continue;
      }
      if (last) last.until = entry.time;
      const changes = broken ? [] : value.changes;
      spans.push({
        fleet: entry.fleet,
        host: entry.host,
        recipe,
        state,
        since: entry.time,
        lastCheck: entry.time,
        changes,
      });
    }
  }
  const since = options.since;
  for (const spans of byKey.values()) {
    const current = spans.at(-1)!;
    const synced = spans.findLast((s) => s.state === 'in-sync');
    if (current.state !== 'in-sync' && synced) current.lastInSync = synced.lastCheck;
  }
  return [...byKey.values()]
    .flat()
    .filter((s) => since === undefined || Date.parse(s.lastCheck) >= since || s.until === undefined)
    .sort(
      (a, b) =>
        a.fleet.localeCompare(b.fleet) ||
        a.host.localeCompare(b.host) ||
        a.recipe.localeCompare(b.recipe) ||
        a.since.localeCompare(b.since),
    );
}

/** Per host and recipe: the current state and since when (the last span of each timeline). */
export function driftSpans(history: readonly HistoryEntry[], hosts?: ReadonlySet<string>): DriftSpan[] {
  return timeline(history, { hosts }).filter((s) => s.until === undefined);
}
