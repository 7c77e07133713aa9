/**
 * The drift check's reports. Besides text and JSON (text.ts, json.ts):
 *
 *   junit       one test case per selected host x managed recipe (the count never varies): drift
 *               is a failure, a host not read an error; Jenkins' JUnit schema (test/lab/junit.xsd)
 *   prometheus  node_exporter textfile collector format: drift gauges of the hosts read (a host
 *               not read has no drift samples, never a false 0), host up, certificate expiry, and
 *               run-level gauges labelled with the shard,
 *               and rpctl_service_up{host,service} for the services the managed recipes need
 *
 * Certificate expiry (served certificate, from a TLS handshake) comes with every format.
 */
import type { Expiry } from '../engine/contract.js';
import { type FleetResult, type HostOutcome, isFailure } from '../engine/run.js';

export type { Expiry } from '../engine/contract.js';

export type ExpiryByHost = ReadonlyMap<string, Expiry>;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The warning an expiring (or expired) served certificate gives, or undefined. */
export function expiryLine(expiry: Expiry | undefined): string | undefined {
  if (!expiry?.warn) return undefined;
  return expiry.daysLeft < 0
    ? `certificate EXPIRED on ${expiry.notAfter.slice(0, 10)}`
    : `certificate expires in ${plural(expiry.daysLeft, 'day')} (${expiry.notAfter.slice(0, 10)})`;
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
      if (isFailure(host.status)) {
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
    return `  <testsuite name="${xml(host.name)}" tests="${cases.length}" failures="${count('failure')}" errors="${count('error')}" time="${seconds(host.durationMs)}" timestamp="${result.startedAt.replace(/\.\d+Z$/, 'Z')}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="rpctl drift" tests="${tests}" failures="${failures}" errors="${errors}" time="${seconds(result.durationMs)}">\n${suites.join('\n')}\n</testsuites>\n`;
}

const label = (value: string) =>
  value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

/** Every metric of `--format prometheus`, with its help text (README, "Drift", lists the same). */
export const METRICS = {
  rpctl_drift:
    '1 when the appliance differs from the inventory for this recipe, 0 when in sync (hosts read only)',
  rpctl_drift_changes: 'changes apply would make on the appliance for this recipe (hosts read only)',
  rpctl_host_up: '1 when the drift check reached the appliance and read its facts, else 0',
  rpctl_service_up:
    '1 when a service the managed recipes need (nginx, the TURN server, fail2ban) runs, 0 when stopped',
  rpctl_certificate_expiry_seconds:
    'seconds until the certificate the appliance serves expires (negative: expired)',
  rpctl_certificate_expiry_warning: '1 when the served certificate expires within --warn-expiry-days',
  rpctl_drift_check_duration_seconds: 'how long checking the appliance took',
  rpctl_drift_last_check_timestamp_seconds: 'when the drift check ran (unix time), per shard',
  rpctl_drift_run_duration_seconds: 'how long the whole drift check took, per shard',
} as const;

/** `shard`: "K/N" of `--shard`, "1/1" for a whole fleet, so shards writing to one directory never collide. */
export function prometheus(result: FleetResult, expiry: ExpiryByHost, shard = '1/1'): string {
  const lines: string[] = [];
  const metric = (name: keyof typeof METRICS, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${METRICS[name]}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples)
      lines.push(`${name}${labels} ${Number.isFinite(value) ? value : 'NaN'}`);
  };
  const host = (h: string) => `host="${label(h)}"`;
  const read = result.hosts.filter((h) => h.status === 'in-sync' || h.status === 'drift');
  const perRecipe = (count: (h: HostOutcome, recipe: string) => number) =>
    read.flatMap((h) =>
      h.managed.map((m): [string, number] => [
        `{${host(h.name)},recipe="${label(m.recipe)}"}`,
        count(h, m.recipe),
      ]),
    );
  const changesOf = (h: HostOutcome, recipe: string) =>
    [...h.changes, ...h.pending].filter((c) => c.recipe === recipe).length;
  metric(
    'rpctl_drift',
    perRecipe((h, recipe) => (changesOf(h, recipe) > 0 ? 1 : 0)),
  );
  metric('rpctl_drift_changes', perRecipe(changesOf));
  metric(
    'rpctl_host_up',
    result.hosts.map((h) => [`{${host(h.name)}}`, read.includes(h) ? 1 : 0]),
  );
  const certificates = [...expiry].sort(([a], [b]) => a.localeCompare(b));
  metric(
    'rpctl_service_up',
    result.hosts.flatMap((h) =>
      (h.services ?? []).map((s): [string, number] => [
        `{${host(h.name)},service="${label(s.service)}"}`,
        s.running ? 1 : 0,
      ]),
    ),
  );
  metric(
    'rpctl_certificate_expiry_seconds',
    certificates.map(([h, e]) => [`{${host(h)}}`, e.secondsLeft]),
  );
  metric(
    'rpctl_certificate_expiry_warning',
    certificates.map(([h, e]) => [`{${host(h)}}`, e.warn ? 1 : 0]),
  );
  metric(
    'rpctl_drift_check_duration_seconds',
    result.hosts.map((h) => [`{${host(h.name)}}`, h.durationMs / 1000]),
  );
  const run = `{shard="${label(shard)}"}`;
  metric('rpctl_drift_last_check_timestamp_seconds', [
    [run, Math.floor(Date.parse(result.startedAt) / 1000)],
  ]);
  metric('rpctl_drift_run_duration_seconds', [[run, result.durationMs / 1000]]);
  return `${lines.join('\n')}\n`;
}
