import { describe, expect, it } from 'vitest';
import type { FleetResult, HostOutcome } from '../../../src/engine/run.js';
import { parseDuration } from '../../../src/inventory/duration.js';
import { ago } from '../../../src/report/history-view.js';
import { htmlReport } from '../../../src/report/html.js';

const host = (name: string, status: HostOutcome['status'], diff = ''): HostOutcome =>
  ({
    name,
    status,
    managed: [
      { recipe: 'upstreams', digest: 'd' },
      { recipe: 'certificate', digest: 'd' },
    ],
    changes: diff
      ? [
          {
            recipe: 'upstreams',
            summary: 'add <10.0.0.1>',
            diff,
            disruptive: false,
            deferred: false,
            change: { summary: '' },
          },
        ]
      : [],
    pending: [],
    warnings: [],
    verification: [],
    rolledBack: false,
    durationMs: 1,
    ...(status === 'unreachable' ? { error: { reason: 'connect', message: 'connection refused' } } : {}),
  }) as HostOutcome;

const now = Date.parse('2026-03-01T00:00:00Z');
const result: FleetResult = {
  runId: 'r',
  mode: 'drift',
  startedAt: '2026-03-01T00:00:00.000Z',
  durationMs: 1200,
  confirmed: true,
  hosts: [
    host('rp1', 'drift', '-a\n+<script>alert(1)</script>\n'),
    host('rp2', 'in-sync'),
    host('rp3', 'unreachable'),
  ],
};

describe('html report', () => {
  it('is one page: a cell per host and recipe, diffs escaped inside details, nothing fetched', () => {
    const expiry = new Map([
      ['rp2', { notAfter: '2026-03-11T00:00:00Z', daysLeft: 10, secondsLeft: 864000, warn: true }],
    ]);
    const page = htmlReport(result, { expiry, fleet: 'prod <eu>', past: [], now });
    for (const h of ['rp1', 'rp2', 'rp3'])
      for (const r of ['upstreams', 'certificate']) expect(page).toContain(`data-cell="${h}/${r}"`);
    expect(page).toContain(
      '<td class="drift" data-cell="rp1/upstreams"><details><summary>drift (1)</summary>',
    );
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain('<script');
    expect(page).toContain('prod &lt;eu&gt;');
    expect(page).toContain('connection refused');
    expect(page).toContain('2026-03-11 (10 days left)');
    expect(page).not.toMatch(/(src|href)=|url\(|@import|https?:/);
  });
});

describe('durations and relative times', () => {
  it('parses --since and history.keep durations', () => {
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    for (const bad of ['', '7', 'd', '0d', '7days', '-1d', '1.5d'])
      expect(parseDuration(bad)).toBeUndefined();
  });

  it('says how long ago on a terminal', () => {
    expect(ago('2026-02-28T23:59:30Z', now)).toBe('just now');
    expect(ago('2026-02-28T23:48:00Z', now)).toBe('12 min ago');
    expect(ago('2026-02-28T19:00:00Z', now)).toBe('5 h ago');
    expect(ago('2026-02-25T00:00:00Z', now)).toBe('4 d ago');
  });
});
