import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PlannedChange } from '../../../src/engine/plan.js';
import type { FleetResult, HostOutcome } from '../../../src/engine/run.js';
import { changeKind, driftSpans, History, historyEntries } from '../../../src/report/history.js';

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
    const history = new History({ RPCTL_STATE_DIR: dir });
    const a = history.digest({ password: 'hunter22', user: 'pexip' });
    expect(history.digest({ user: 'pexip', password: 'hunter22' })).toBe(a);
    expect(history.digest({ user: 'pexip', password: 'other' })).not.toBe(a);
    // another state directory has another key: digests do not reveal equal secrets across machines
    expect(
      new History({ RPCTL_STATE_DIR: mkdtempSync(join(tmpdir(), 'rpctl-history-')) }).digest({
        password: 'hunter22',
        user: 'pexip',
      }),
    ).not.toBe(a);
    history.append(historyEntries(result('drift', 't', [host('a', 'in-sync')])));
    expect(history.read()).toHaveLength(1);
  });
});
