/**
 * The renderers of plan, apply and drift reports, on outcomes built by hand: grouping identical
 * changes, the progress display's bounds, the JSON report against its schema (and the published
 * schema file against the definition), Prometheus without false zeros, JUnit's fixed shape.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PlannedChange } from '../../../src/engine/plan.js';
import type { FleetResult, HostOutcome } from '../../../src/engine/run.js';
import { junit, METRICS, prometheus } from '../../../src/report/drift.js';
import { jsonReport, reportJsonSchema, reportSchema, withSchemaVersion } from '../../../src/report/json.js';
import { createProgress, FleetTally } from '../../../src/report/progress.js';
import { hostList, renderFleet, renderGroups } from '../../../src/report/text.js';

const DIFF = '--- a\n+++ b\n@@ -1 +1,2 @@\n server 10.40.0.12:443;\n+server 10.40.0.13:443;\n';

const change = (summary: string, diff = DIFF): PlannedChange => ({
  recipe: 'upstreams',
  summary,
  diff,
  disruptive: false,
  deferred: false,
  change: { summary },
});

function host(name: string, status: HostOutcome['status'], changes: PlannedChange[] = []): HostOutcome {
  return {
    name,
    status,
    managed: [
      { recipe: 'upstreams', digest: 'd1' },
      { recipe: 'certificate', digest: 'd2' },
    ],
    changes,
    pending: [],
    warnings: [],
    verification: [],
    rolledBack: false,
    durationMs: 1500,
    ...(status === 'unreachable'
      ? { error: { reason: 'unreachable' as const, message: `${name}: cannot connect: ECONNREFUSED` } }
      : {}),
  };
}

const fleet = (mode: FleetResult['mode'], hosts: HostOutcome[]): FleetResult => ({
  runId: 'r1',
  mode,
  startedAt: '2026-12-06T03:00:00.123Z',
  durationMs: 4200,
  hosts,
  confirmed: true,
});

const add = change('add 10.40.0.13:443');
const forty = Array.from({ length: 40 }, (_, i) => host(`rp${i + 1}`, 'drift', [add]));

describe('hostList', () => {
  it('folds runs of 3 or more consecutive numbers and keeps the rest as they are', () => {
    expect(hostList(['rp1', 'rp2', 'rp3', 'rp5'])).toBe('rp1…rp3, rp5');
    expect(hostList(['lab-1', 'lab-3', 'lab-4'])).toBe('lab-1, lab-3, lab-4');
    expect(hostList(['rp-09', 'rp-10', 'rp-11'])).toBe('rp-09…rp-11');
    expect(hostList(['rp9', 'rp10', 'rp11'])).toBe('rp9…rp11');
    expect(hostList(['rp-9', 'rp-10', 'rp-011'])).toBe('rp-9, rp-10, rp-011');
    expect(hostList(['dc1-a', 'dc1-b', 'x'])).toBe('dc1-a, dc1-b, x');
  });
});

describe('grouped text report', () => {
  it('shows a change made on 40 hosts once, with the host list and one diff', () => {
    const text = renderFleet(fleet('plan', [...forty, host('rp41', 'in-sync')]), {
      colour: false,
      diffs: true,
    });
    expect(text).toContain('rp1…rp40 (40 hosts): 1 change\n  ~ upstreams: add 10.40.0.13:443\n');
    expect(text.match(/\+server 10\.40\.0\.13/g)).toHaveLength(1);
    expect(text).toContain('rp41: in sync');
    expect(text.endsWith('Plan: 40 changes pending on 40 hosts; 1 in sync.\n')).toBe(true);
  });

  it('keeps the odd one out apart; --no-diff drops the diffs, not the summaries', () => {
    const odd = host('rp7', 'drift', [change('add 10.40.0.99:443', DIFF.replace('13', '99'))]);
    const hosts = [...forty.slice(0, 6), odd, ...forty.slice(7, 10)];
    const text = renderGroups(hosts, 'drift', { colour: false, diffs: false });
    expect(text).toContain('rp1…rp6, rp8…rp10 (9 hosts): drift (1 change)');
    expect(text).toContain('rp7: drift (1 change)\n  ~ upstreams: add 10.40.0.99:443');
    expect(text).not.toContain('+++');
  });

  it('groups applied changes, and unreachable hosts by their error, warnings per host', () => {
    const changed = forty.slice(0, 3).map((h) => ({ ...h, status: 'changed' as const }));
    const down = host('rp9', 'unreachable');
    const warned = { ...host('rp10', 'in-sync'), warnings: ['certificate expires in 9 days (2027-01-01)'] };
    const text = renderFleet(fleet('apply', [...changed, down, warned]), { colour: false, diffs: true });
    expect(text).toContain('rp1…rp3 (3 hosts): changed (1 change)\n  ✓ upstreams: add 10.40.0.13:443');
    expect(text).toContain('rp9: UNREACHABLE\n  cannot connect: ECONNREFUSED');
    expect(text).toContain('rp10: warning: certificate expires in 9 days');
    expect(text).toContain('Apply: 3 changes applied on 3 hosts; 1 in sync; 1 unreachable.');
  });
});

describe('an apply whose outcome is unknown (its connection dropped, nothing read back)', () => {
  const unknown: HostOutcome = {
    ...host('rp2', 'unknown', [add]),
    error: {
      reason: 'outcome-unknown',
      message:
        'rp2: the connection dropped during the apply (connection lost) and reading it over a new SSH connection to rp2 failed (ECONNREFUSED): its outcome is unknown; check /var/lib/rpctl/outcome/r1 on the appliance, then run plan',
    },
  };
  const result = fleet('apply', [host('rp1', 'changed', [add]), unknown]);

  it('is its own status in text (not FAILED), counted apart in the summary', () => {
    const text = renderFleet(result, { colour: false, diffs: false });
    expect(text).toContain('rp2: UNKNOWN (outcome unknown)');
    expect(text).toContain('  the connection dropped during the apply (connection lost)');
    expect(text).not.toContain('FAILED');
    expect(text).toMatch(/1 outcome unknown\.\n$/);
  });

  it('is "unknown" in JSON, valid against the schema, with its count in the summary', () => {
    const report = jsonReport(result, { diffs: false });
    expect(reportSchema.parse(JSON.parse(JSON.stringify(report))).hosts[1]!.status).toBe('unknown');
    expect(report.summary).toMatchObject({ changed: 1, failed: 0, unknown: 1 });
  });

  it('is a JUnit error and a failure for the progress display, like a failed host', () => {
    expect(junit(fleet('apply', [unknown]), new Map(), false)).toContain('<error type="unknown"');
    const tally = new FleetTally(1, 0);
    tally.finish(unknown);
    expect(tally.summary(0)).toContain('1 failed');
  });
});

describe('grouped text report: drift and warnings', () => {
  it('shows a deferred change as drift in a drift report, and a warning of many hosts once', () => {
    const restart = { ...change('restart coturn'), recipe: 'turn-nat', disruptive: true, deferred: true };
    const drifting = { ...host('rp1', 'drift'), pending: [restart] };
    const warn = (h: HostOutcome) => ({ ...h, warnings: ['only 2 conferencing nodes'] });
    const hosts = [warn(drifting), warn(host('rp2', 'in-sync')), warn(host('rp3', 'in-sync'))];
    const drift = renderGroups(hosts, 'drift', { colour: false, diffs: false });
    expect(drift).toContain('rp1: drift (1 change)\n  ~ turn-nat: restart coturn (disruptive)\n');
    expect(drift).toContain('rp1…rp3: warning: only 2 conferencing nodes');
    const plan = renderGroups(hosts, 'plan', { colour: false, diffs: false });
    expect(plan).toContain('  ! turn-nat: restart coturn (disruptive: deferred, needs --allow-disruptive)');
  });
});

describe('progress', () => {
  it('draws a summary line and only working or failed hosts, never taller than the terminal', () => {
    const tally = new FleetTally(60, 0);
    for (let i = 1; i <= 60; i++) tally.phase(`rp${i}`, 'facts', 0);
    tally.finish({ ...host('rp1', 'changed', [add]) });
    tally.finish(host('rp2', 'unreachable'));
    tally.finish(host('rp3', 'in-sync'));
    const frame = tally.frame(10_000, 19, 100);
    expect(frame).toHaveLength(19);
    expect(frame[0]).toBe(
      '3/60 done · 1 changed · 1 in sync · 0 drift · 1 failed · 10s elapsed · ~3m10s left',
    );
    expect(frame[1]).toContain('✗ rp2  unreachable: cannot connect');
    expect(frame[2]).toBe('  rp4  reading facts 10s');
    expect(frame[18]).toBe('  … 41 more');
    expect(frame.every((l) => [...l].length <= 100)).toBe(true);
    expect(tally.frame(10_000, 5, 30).every((l) => [...l].length <= 30)).toBe(true);
  });

  it('off a terminal: a line per finished host and a heartbeat, on stderr', async () => {
    const lines: string[] = [];
    const progress = createProgress(
      { stderr: { write: (t) => void lines.push(t) } },
      { hosts: ['rp1', 'rp2'], tty: false, heartbeatMs: 20 },
    );
    progress.events.done?.(host('rp1', 'in-sync'));
    await new Promise((r) => setTimeout(r, 50));
    progress.stop();
    expect(lines[0]).toBe('rp1: in sync (2s)\n');
    expect(lines[1]).toMatch(/^progress: 1\/2 done · 0 changed · 1 in sync/);
  });

  it('on a terminal: erases its frame when it stops, so the report is printed once', () => {
    const writes: string[] = [];
    const progress = createProgress(
      { stderr: { write: (t) => void writes.push(t), rows: 20, columns: 100 } },
      { hosts: ['rp1'], tty: true },
    );
    progress.events.phase?.('rp1', 'facts');
    progress.stop();
    expect(writes.join('')).toBe(
      `0/1 done · 0 changed · 0 in sync · 0 drift · 0 failed · 0s elapsed\u001b[K\n\u001b[J\r\u001b[1A\u001b[2K\n\r\u001b[1A`,
    );
  });
});

describe('JSON report', () => {
  it('is versioned, camelCase, and valid against the schema published in schemas/', () => {
    const down = host('rp9', 'unreachable');
    const report = jsonReport(fleet('drift', [...forty.slice(0, 2), down]), { diffs: true });
    expect(report.schemaVersion).toBe(1);
    expect(report.summary).toMatchObject({ hosts: 3, inSync: 0, drift: 2, unreachable: 1 });
    expect(reportSchema.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
    const published = JSON.parse(readFileSync('schemas/report.schema.json', 'utf8'));
    expect(published).toEqual(reportJsonSchema()); // run `npm run schema` after changing the report
  });

  it('gives the other JSON reports (one-offs, facts) a schemaVersion too', () => {
    expect(JSON.parse(withSchemaVersion('{"hosts":[]}'))).toEqual({ schemaVersion: 1, hosts: [] });
    expect(withSchemaVersion('{"schemaVersion":1}')).toBe('{"schemaVersion":1}');
  });
});

describe('Prometheus and JUnit', () => {
  const result = fleet('drift', [host('rp1', 'drift', [add]), host('rp2', 'unreachable')]);

  it('has no drift samples for a host it did not read, and labels run gauges with the shard', () => {
    const text = prometheus(result, new Map(), '2/4');
    expect(text).toContain('rpctl_drift_changes{host="rp1",recipe="upstreams"} 1');
    expect(text).toContain('rpctl_drift_changes{host="rp1",recipe="certificate"} 0');
    expect(text).not.toMatch(/rpctl_drift(_changes)?\{host="rp2"/);
    expect(text).toContain('rpctl_host_up{host="rp2"} 0');
    expect(text).toContain('rpctl_drift_run_duration_seconds{shard="2/4"} 4.2');
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    expect(names).toEqual(Object.keys(METRICS));
    const readme = readFileSync('README.md', 'utf8');
    for (const name of names) expect(readme).toContain(`\`${name}\``);
  });

  it('has a test case per managed recipe for every host (errors when not read), zoned timestamps', () => {
    const xml = junit(result, new Map(), false);
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml.match(/<error /g)).toHaveLength(2);
    expect(xml).toContain('timestamp="2026-12-06T03:00:00Z"');
  });
});
