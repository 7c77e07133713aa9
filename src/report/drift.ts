/**
 * The drift check's reports. Besides text and JSON (text.ts, json.ts):
 *
 *   text        hosts with identical drift grouped together, so the odd one out stands out
 *   junit       one test case per host x recipe; drift is a failure, an unreachable host an error
 *   prometheus  node_exporter textfile collector format: drift gauges, host up, service up
 *               (rpctl_service_up{host,service}), certificate expiry, last check time and duration
 *
 * Certificate expiry (served certificate, from a TLS handshake) comes with every format.
 */
import type { Expiry } from '../engine/contract.js';
import type { FleetResult, HostOutcome } from '../engine/run.js';
import { withoutHostName } from '../errors.js';
import { colourDiff } from './diff.js';

export type { Expiry } from '../engine/contract.js';

export type ExpiryByHost = ReadonlyMap<string, Expiry>;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function signature(host: HostOutcome): string {
  const changes = [...host.changes, ...host.pending].map((c) => [c.recipe, c.summary, c.diff]);
  return JSON.stringify([host.interrupted, changes]);
}

function expiryLine(expiry: Expiry | undefined): string | undefined {
  if (!expiry?.warn) return undefined;
  return expiry.daysLeft < 0
    ? `certificate EXPIRED on ${expiry.notAfter.slice(0, 10)}`
    : `certificate expires in ${plural(expiry.daysLeft, 'day')} (${expiry.notAfter.slice(0, 10)})`;
}

export function groupedText(
  result: FleetResult,
  options: { colour: boolean; diffs: boolean },
  expiry: ExpiryByHost,
): string {
  const out: string[] = [];
  const names = (hosts: HostOutcome[]) => hosts.map((h) => h.name).join(', ');
  const inSync = result.hosts.filter((h) => h.status === 'in-sync');
  const broken = result.hosts.filter((h) => h.status === 'failed' || h.status === 'unreachable');
  const groups = new Map<string, HostOutcome[]>();
  for (const host of result.hosts.filter((h) => h.status === 'drift')) {
    groups.set(signature(host), [...(groups.get(signature(host)) ?? []), host]);
  }
  // smallest groups first: a lone drifting host is the one to look at
  for (const hosts of [...groups.values()].sort((a, b) => a.length - b.length)) {
    const first = hosts[0]!;
    const count = first.changes.length + first.pending.length;
    out.push(
      `${hosts.length === 1 ? first.name : `${hosts.length} hosts: ${names(hosts)}`}: drift (${plural(count, 'change')})`,
    );
    if (first.interrupted) out.push(`  ! ${first.interrupted}`);
    for (const change of [...first.changes, ...first.pending]) {
      out.push(`  ~ ${change.recipe}: ${change.summary}`);
      if (options.diffs && change.diff) {
        const diff = options.colour ? colourDiff(change.diff) : change.diff;
        out.push(
          diff
            .replace(/\n$/, '')
            .split('\n')
            .map((l) => `      ${l}`)
            .join('\n'),
        );
      }
    }
  }
  for (const host of broken)
    out.push(
      `${host.name}: ${host.status.toUpperCase()}: ${withoutHostName(host.name, host.error?.message ?? '')}`,
    );
  if (inSync.length) out.push(`in sync (${inSync.length}): ${names(inSync)}`);
  const warnings = result.hosts.flatMap((h) =>
    [expiryLine(expiry.get(h.name))].filter(Boolean).map((w) => `${h.name}: warning: ${w}`),
  );
  out.push(...warnings);
  const drift = result.hosts.filter((h) => h.status === 'drift').length;
  out.push(
    '',
    `Drift: ${[drift && `${plural(drift, 'host')} drifted`, inSync.length && `${inSync.length} in sync`, broken.length && `${broken.length} failed or unreachable`].filter(Boolean).join('; ') || 'no hosts'}.`,
  );
  return `${out.join('\n')}\n`;
}

const xml = (text: string) =>
  text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

export function junit(result: FleetResult, expiry: ExpiryByHost, failOnExpiry: boolean): string {
  let tests = 0;
  let failures = 0;
  let errors = 0;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const suites = result.hosts.map((host) => {
    const cases: string[] = [];
    const recipes = host.managed.length ? host.managed.map((m) => m.recipe) : ['(connection)'];
    for (const recipe of recipes) {
      tests++;
      const open = `    <testcase classname="${xml(host.name)}" name="${xml(recipe)}" time="${seconds(host.durationMs)}">`;
      if (host.status === 'failed' || host.status === 'unreachable') {
        errors++;
        cases.push(
          `${open}\n      <error type="${host.status}" message="${xml(host.error?.message ?? host.status)}"/>\n    </testcase>`,
        );
        continue;
      }
      const changes = [...host.changes, ...host.pending].filter((c) => c.recipe === recipe);
      if (changes.length === 0) {
        cases.push(`${open}</testcase>`);
        continue;
      }
      failures++;
      const message = changes.map((c) => c.summary).join('; ');
      const body = changes.map((c) => c.diff || c.summary).join('\n');
      cases.push(
        `${open}\n      <failure type="drift" message="${xml(message)}">${xml(body)}</failure>\n    </testcase>`,
      );
    }
    const exp = expiry.get(host.name);
    if (exp) {
      tests++;
      const open = `    <testcase classname="${xml(host.name)}" name="certificate expiry" time="0.000">`;
      const line = expiryLine(exp);
      if (line && failOnExpiry) {
        failures++;
        cases.push(
          `${open}\n      <failure type="certificate-expiry" message="${xml(line)}"/>\n    </testcase>`,
        );
      } else {
        cases.push(
          line
            ? `${open}\n      <system-out>warning: ${xml(line)}</system-out>\n    </testcase>`
            : `${open}</testcase>`,
        );
      }
    }
    const count = (kind: string) => cases.filter((c) => c.includes(`<${kind} `)).length;
    return `  <testsuite name="${xml(host.name)}" tests="${cases.length}" failures="${count('failure')}" errors="${count('error')}" time="${seconds(host.durationMs)}" timestamp="${result.startedAt.replace(/\.\d+Z$/, '')}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="rpctl drift" tests="${tests}" failures="${failures}" errors="${errors}" time="${seconds(result.durationMs)}">\n${suites.join('\n')}\n</testsuites>\n`;
}

const label = (value: string) =>
  value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

export function prometheus(result: FleetResult, expiry: ExpiryByHost): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples)
      lines.push(`${name}${labels} ${Number.isFinite(value) ? value : 'NaN'}`);
  };
  const host = (h: string) => `host="${label(h)}"`;
  metric(
    'rpctl_drift',
    '1 when the appliance differs from the inventory for this recipe, 0 when in sync',
    result.hosts
      .filter((h) => h.status === 'in-sync' || h.status === 'drift')
      .flatMap((h) =>
        h.managed.map((m): [string, number] => [
          `{${host(h.name)},recipe="${label(m.recipe)}"}`,
          [...h.changes, ...h.pending].some((c) => c.recipe === m.recipe) ? 1 : 0,
        ]),
      ),
  );
  metric(
    'rpctl_drift_changes',
    'changes apply would make on the appliance for this recipe',
    result.hosts.flatMap((h) =>
      h.managed.map((m): [string, number] => [
        `{${host(h.name)},recipe="${label(m.recipe)}"}`,
        [...h.changes, ...h.pending].filter((c) => c.recipe === m.recipe).length,
      ]),
    ),
  );
  metric(
    'rpctl_host_up',
    '1 when the drift check reached the appliance and read its facts',
    result.hosts.map((h) => [`{${host(h.name)}}`, h.status === 'in-sync' || h.status === 'drift' ? 1 : 0]),
  );
  metric(
    'rpctl_service_up',
    '1 when a service the managed recipes need (nginx, the TURN server, fail2ban) runs, 0 when stopped',
    result.hosts.flatMap((h) =>
      (h.services ?? []).map((s): [string, number] => [
        `{${host(h.name)},service="${label(s.service)}"}`,
        s.running ? 1 : 0,
      ]),
    ),
  );
  metric(
    'rpctl_certificate_expiry_seconds',
    'seconds until the certificate the appliance serves expires (negative: expired)',
    [...expiry].sort(([a], [b]) => a.localeCompare(b)).map(([h, e]) => [`{${host(h)}}`, e.secondsLeft]),
  );
  metric(
    'rpctl_certificate_expiry_warning',
    '1 when the served certificate expires within --warn-expiry-days',
    [...expiry].sort(([a], [b]) => a.localeCompare(b)).map(([h, e]) => [`{${host(h)}}`, e.warn ? 1 : 0]),
  );
  metric(
    'rpctl_drift_check_duration_seconds',
    'how long checking the appliance took',
    result.hosts.map((h) => [`{${host(h.name)}}`, h.durationMs / 1000]),
  );
  metric('rpctl_drift_last_check_timestamp_seconds', 'when the drift check ran (unix time)', [
    ['', Math.floor(Date.parse(result.startedAt) / 1000)],
  ]);
  metric('rpctl_drift_run_duration_seconds', 'how long the whole drift check took', [
    ['', result.durationMs / 1000],
  ]);
  return `${lines.join('\n')}\n`;
}
