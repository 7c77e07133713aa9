import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PlannedChange } from '../../../src/engine/plan.js';
import type { FleetResult, HostOutcome } from '../../../src/engine/run.js';
import {
  changeKind,
  driftSpans,
  historyEntries as entriesOf,
  History,
  type HistoryEntry,
  timeline,
} from '../../../src/report/history.js';

const historyEntries = (r: FleetResult, fleet = 'A') => entriesOf(r, fleet);

const change = (summary: string): PlannedChange => ({
  recipe: 'upstreams',
  summary,
  diff: '',
  disruptive: false,
  deferred: false,
  change: { summary },
});

function host(
  name: string,
  status: HostOutcome['status'],
  changes: PlannedChange[] = [],
  pending: PlannedChange[] = [],
): HostOutcome {
  return {
    name,
    status,
    managed: [{ recipe: 'upstreams', digest: 'd1' }],
    changes,
    pending,
    warnings: [],
    verification: [],
    rolledBack: false,
    durationMs: 1,
  };
}

const result = (mode: FleetResult['mode'], time: string, hosts: HostOutcome[]): FleetResult => ({
  runId: time,
  mode,
  startedAt: time,
  durationMs: 1,
  hosts,
  confirmed: true,
});

describe('history', () => {
  it('tells since when a host drifts, and that an apply ended it', () => {
    const entries = [
      ...historyEntries(
        result('drift', '2026-01-01T00:00:00Z', [
          host('a', 'drift', [change('add x')]),
          host('b', 'in-sync'),
        ]),
      ),
      ...historyEntries(
        result('drift', '2026-01-02T00:00:00Z', [
          host('a', 'drift', [change('add x')]),
          host('b', 'unreachable'),
        ]),
      ),
      ...historyEntries(result('apply', '2026-01-03T00:00:00Z', [host('a', 'changed', [change('add x')])])),
    ];
    const spans = driftSpans(entries.slice(0, 4));
    expect(spans.map((s) => [s.host, s.state, s.since, s.lastCheck, s.changes])).toEqual([
      ['a', 'drift', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', ['add x']],
      ['b', 'unreachable', '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z', []],
    ]);
    const after = driftSpans(entries).find((s) => s.host === 'a')!;
    // the apply fixed it: in sync since then, and what it applied is not listed as pending
    expect([after.state, after.since, after.changes]).toEqual(['in-sync', '2026-01-03T00:00:00Z', []]);
    expect(entries.at(-1)?.recipes.upstreams?.applied).toEqual(['add x']);
  });

  it('keeps deferred changes of an apply as drift', () => {
    const [entry] = historyEntries(result('apply', 't', [host('a', 'changed', [], [change('restart')])]));
    expect(entry?.recipes.upstreams).toMatchObject({ drift: true, changes: ['restart'] });
  });

  it('calls a change corrective when the desired state is the one last seen, intentional otherwise', () => {
    const entries = historyEntries(result('drift', 't', [host('a', 'drift', [change('add x')])]));
    expect(changeKind(entries, 'a', 'upstreams', 'd1')).toBe('corrective');
    expect(changeKind(entries, 'a', 'upstreams', 'd2')).toBe('intentional');
    expect(changeKind(entries, 'other', 'upstreams', 'd1')).toBe('intentional');
  });

  it('digests desired states with a local key, independent of key order, never storing values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpctl-history-'));
    const history = new History({ RPCTL_STATE_DIR: dir }, 'A');
    const a = history.digest({ password: 'hunter22', user: 'pexip' });
    expect(history.digest({ user: 'pexip', password: 'hunter22' })).toBe(a);
    expect(history.digest({ user: 'pexip', password: 'other' })).not.toBe(a);
    // another state directory has another key: digests do not reveal equal secrets across machines
    expect(
      new History({ RPCTL_STATE_DIR: mkdtempSync(join(tmpdir(), 'rpctl-history-')) }, 'A').digest({
        password: 'hunter22',
        user: 'pexip',
      }),
    ).not.toBe(a);
    history.append(historyEntries(result('drift', 't', [host('a', 'in-sync')])), DAY);
    expect(history.read()).toHaveLength(1);
  });
});

const DAY = 86_400_000;

describe('history per fleet', () => {
  it('keeps two fleets with the same host name apart, and ignores the history file of older versions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpctl-history-'));
    const env = { RPCTL_STATE_DIR: dir };
    writeFileSync(
      join(dir, 'history.jsonl'),
      '{"time":"2026-01-01T00:00:00Z","host":"lab-1","recipes":{}}\n',
    );
    const a = new History(env, '/srv/inventories/a.yaml');
    const b = new History(env, 'prod');
    const now = Date.parse('2026-01-02T00:00:00Z');
    a.append(
      historyEntries(
        result('drift', '2026-01-02T00:00:00Z', [host('lab-1', 'drift', [change('add x')])]),
        a.fleet,
      ),
      DAY,
      now,
    );
    b.append(
      historyEntries(result('drift', '2026-01-02T00:00:00Z', [host('lab-1', 'in-sync')]), b.fleet),
      DAY,
      now,
    );
    expect(driftSpans(a.read()).map((s) => [s.fleet, s.host, s.state])).toEqual([
      ['/srv/inventories/a.yaml', 'lab-1', 'drift'],
    ]);
    expect(driftSpans(b.read()).map((s) => [s.fleet, s.host, s.state])).toEqual([
      ['prod', 'lab-1', 'in-sync'],
    ]);
    expect(
      History.readAll(env)
        .map((e) => e.fleet)
        .sort(),
    ).toEqual(['/srv/inventories/a.yaml', 'prod']);
    expect(readdirSync(join(dir, 'history')).sort()).toEqual([
      expect.stringMatching(/^prod-[0-9a-f]{16}\.jsonl$/),
      expect.stringMatching(/^srv-inventories-a\.yaml-[0-9a-f]{16}\.jsonl$/),
    ]);
  });

  it('drops entries older than the retention, once they are a day past it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpctl-history-'));
    const history = new History({ RPCTL_STATE_DIR: dir }, 'A');
    const at = (day: number) => new Date(Date.UTC(2026, 0, day)).toISOString();
    for (const day of [1, 2, 3, 4, 5]) {
      history.append(
        historyEntries(result('drift', at(day), [host('a', 'in-sync')])),
        3 * DAY,
        Date.parse(at(day)),
      );
    }
    // day 5: day 1 is 4 days old, within retention + a day of slack: kept
    expect(history.read().map((e) => e.time)).toEqual([1, 2, 3, 4, 5].map(at));
    history.append(
      historyEntries(result('drift', at(6), [host('a', 'in-sync')])),
      3 * DAY,
      Date.parse(at(6)),
    );
    expect(history.read().map((e) => e.time)).toEqual([3, 4, 5, 6].map(at));
  });

  it('keeps the whole timeline: every span, until when, and when the host was last in sync', () => {
    const at = (day: number) => new Date(Date.UTC(2026, 0, day)).toISOString();
    const states: [number, HostOutcome][] = [
      [1, host('a', 'in-sync')],
      [2, host('a', 'in-sync')],
      [3, host('a', 'drift', [change('add x')])],
      [4, host('a', 'unreachable')],
      [5, host('a', 'drift', [change('add y')])],
    ];
    const entries: HistoryEntry[] = states.flatMap(([day, h]) =>
      historyEntries(result('drift', at(day), [h])),
    );
    expect(
      timeline(entries).map((s) => [s.state, s.since, s.lastCheck, s.until, s.changes, s.lastInSync]),
    ).toEqual([
      ['in-sync', at(1), at(2), at(3), [], undefined],
      ['drift', at(3), at(3), at(4), ['add x'], undefined],
      ['unreachable', at(4), at(4), at(5), [], undefined],
      ['drift', at(5), at(5), undefined, ['add y'], at(2)],
    ]);
    // --since: spans that ended before are left out, the current one always stays
    expect(timeline(entries, { since: Date.parse(at(4)) }).map((s) => s.since)).toEqual([at(4), at(5)]);
    expect(driftSpans(entries).map((s) => s.since)).toEqual([at(5)]);
  });
});
