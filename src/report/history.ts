/**
 * The local history of drift checks and applies: one JSON line per host and run, in the state
 * directory (`history.jsonl`, see records.ts), so `rpctl drift history` can say since when a host
 * and recipe have drifted, and an apply can tell a corrective change (the appliance drifted from
 * a desired state that did not change) from an intentional one (the inventory changed), as
 * Puppet's reports do.
 *
 * Desired states are kept as keyed digests (HMAC with a local key), never as values: a desired
 * state may hold a secret.
 */
import { createHmac, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { FleetResult, HostStatus } from '../engine/run.js';
import { stateDir } from './records.js';

export interface HistoryEntry {
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

/** Past this size the history keeps its newest half. */
const MAX_BYTES = 32 * 1024 * 1024;

export class History {
  readonly path: string;
  private readonly keyPath: string;

  constructor(env: NodeJS.ProcessEnv) {
    const dir = stateDir(env);
    this.path = join(dir, 'history.jsonl');
    this.keyPath = join(dir, 'history.key');
  }

  /** A keyed digest of a desired state, comparable across runs on this machine. */
  digest(value: unknown): string {
    return createHmac('sha256', this.key()).update(canonical(value)).digest('hex').slice(0, 32);
  }

  read(): HistoryEntry[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .flatMap((line) => {
        try {
          return line ? [JSON.parse(line) as HistoryEntry] : [];
        } catch {
          return []; // a line cut short by a crash: skip it
        }
      });
  }

  append(entries: readonly HistoryEntry[]): void {
    if (entries.length === 0) return;
    mkdirSync(join(this.path, '..'), { recursive: true, mode: 0o700 });
    appendFileSync(this.path, entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    if (statSync(this.path).size > MAX_BYTES) this.trim();
  }

  private trim(): void {
    const lines = readFileSync(this.path, 'utf8').split('\n').filter(Boolean);
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${lines.slice(Math.floor(lines.length / 2)).join('\n')}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  private key(): Buffer {
    if (!existsSync(this.keyPath)) {
      mkdirSync(join(this.keyPath, '..'), { recursive: true, mode: 0o700 });
      writeFileSync(this.keyPath, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
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
  host: string;
  recipe: string;
  state: 'drift' | 'in-sync' | 'unreachable' | 'failed';
  /** when the current state was first seen in an unbroken run of checks */
  since: string;
  lastCheck: string;
  changes: string[];
}

/** Per host and recipe: the current state and since when, newest check last. */
export function driftSpans(history: readonly HistoryEntry[], hosts?: ReadonlySet<string>): DriftSpan[] {
  const spans = new Map<string, DriftSpan>();
  for (const entry of history) {
    if (hosts && !hosts.has(entry.host)) continue;
    const recipeStates: [string, DriftSpan['state'], string[]][] =
      entry.status === 'unreachable' || entry.status === 'failed'
        ? Object.keys(entry.recipes).map((r) => [r, entry.status as 'unreachable' | 'failed', []])
        : Object.entries(entry.recipes).map(([r, v]) => [r, v.drift ? 'drift' : 'in-sync', v.changes]);
    for (const [recipe, state, changes] of recipeStates) {
      const key = `${entry.host}\u0000${recipe}`;
      const span = spans.get(key);
      if (span && span.state === state) {
        span.lastCheck = entry.time;
        if (state === 'drift') span.changes = changes;
      } else {
        spans.set(key, {
          host: entry.host,
          recipe,
          state,
          since: entry.time,
          lastCheck: entry.time,
          changes,
        });
      }
    }
  }
  return [...spans.values()].sort((a, b) => a.host.localeCompare(b.host) || a.recipe.localeCompare(b.recipe));
}
