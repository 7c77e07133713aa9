/**
 * Human output of plan, apply and drift. Hosts whose outcome is the same (same status, same
 * changes and diffs, same error) are shown once with their host list, so a fleet-wide change reads
 * as one change; the odd one out stands out. Warnings and notes stay per host. Colour only when the
 * caller says so (a terminal without NO_COLOR).
 *
 *   lab-1…lab-3 (3 hosts): 1 change
 *     ~ upstreams: add 127.0.3.13:443
 *         --- /etc/nginx/sites-available/pexapp
 *         ...
 *   lab-4: in sync
 *
 *   Plan: 3 changes pending on 3 hosts; 1 in sync.
 */

import type { FleetResult, HostOutcome } from '../engine/run.js';
import { withoutHostName } from '../errors.js';
import { colourDiff } from './diff.js';

export interface TextOptions {
  colour: boolean;
  /** include unified diffs */
  diffs: boolean;
}

const paint = (on: boolean, code: string, text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function indent(text: string, prefix: string): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

/**
 * Host names, with runs of consecutive numbers folded: rp1, rp2, rp3, rp5 -> "rp1…rp3, rp5".
 * Names keep their order; a run needs the same prefix, suffix and padding, and at least 3 names.
 */
export function hostList(names: readonly string[]): string {
  const parts: string[] = [];
  const key = (name: string) => /^(.*?)(\d+)(\D*)$/.exec(name);
  let i = 0;
  while (i < names.length) {
    const first = key(names[i]!);
    let j = i;
    while (first && j + 1 < names.length) {
      const next = key(names[j + 1]!);
      const here = key(names[j]!)!;
      const follows =
        next &&
        next[1] === first[1] &&
        next[3] === first[3] &&
        // rp09 -> rp10 (zero-padded, same width) or rp9 -> rp10 (not padded)
        (next[2]!.length === here[2]!.length || !/^0\d/.test(next[2]! + here[2]!)) &&
        Number(next[2]) === Number(here[2]) + 1;
      if (!follows) break;
      j++;
    }
    if (j - i >= 2) parts.push(`${names[i]}…${names[j]}`);
    else parts.push(...names.slice(i, j + 1));
    i = j + 1;
  }
  return parts.join(', ');
}

function headline(host: HostOutcome, mode: FleetResult['mode'], c: boolean): string {
  const changes = plural(host.changes.length + host.pending.length, 'change');
  switch (host.status) {
    case 'in-sync':
      return paint(c, '32', 'in sync');
    case 'changed':
      return paint(c, '33', `changed (${plural(host.changes.length, 'change')})`);
    case 'drift':
      if (mode === 'apply') return paint(c, '33', `not applied (${plural(host.pending.length, 'change')})`);
      return paint(c, '33', mode === 'drift' ? `drift (${changes})` : changes);
    case 'unreachable':
      return paint(c, '31', 'UNREACHABLE');
    case 'unknown':
      return paint(c, '31', 'UNKNOWN (outcome unknown)');
    default:
      return paint(c, '31', 'FAILED');
  }
}

/** What hosts in one group share: their status line and the lines under it (changes, diffs, error). */
function body(host: HostOutcome, mode: FleetResult['mode'], options: TextOptions): string[] {
  const c = options.colour;
  const lines: string[] = [];
  if (host.error) lines.push(`  ${paint(c, '31', withoutHostName(host.name, host.error.message))}`);
  if (host.interrupted) lines.push(`  ${paint(c, '33', 'warning:')} ${host.interrupted}`);
  // drift reports the difference, whatever apply would defer
  const show = (change: HostOutcome['changes'][number], mark: string) => {
    const note =
      change.deferred && mode !== 'drift'
        ? ' (disruptive: deferred, needs --allow-disruptive)'
        : change.disruptive
          ? ' (disruptive)'
          : '';
    lines.push(`  ${mark} ${change.recipe}: ${change.summary}${paint(c, '35', note)}`);
    if (options.diffs && change.diff) lines.push(indent(c ? colourDiff(change.diff) : change.diff, '      '));
  };
  for (const change of host.changes) show(change, host.status === 'changed' ? '✓' : '~');
  for (const change of host.pending) show(change, mode === 'drift' ? '~' : '!');
  for (const check of host.verification.filter((v) => !v.ok)) lines.push(`  ✗ ${check.message}`);
  return [headline(host, mode, c), ...lines];
}

/** Hosts with the same outcome, in the order their first host comes. */
export function groupHosts(
  hosts: readonly HostOutcome[],
  mode: FleetResult['mode'],
  options: TextOptions,
): { hosts: HostOutcome[]; lines: string[] }[] {
  const groups = new Map<string, { hosts: HostOutcome[]; lines: string[] }>();
  for (const host of hosts) {
    const lines = body(host, mode, options);
    const key = lines.join('\n');
    const group = groups.get(key) ?? { hosts: [], lines };
    group.hosts.push(host);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** The grouped report without its closing count (also the plan shown before apply asks). */
export function renderGroups(
  hosts: readonly HostOutcome[],
  mode: FleetResult['mode'],
  options: TextOptions,
): string {
  const out: string[] = [];
  const c = options.colour;
  const groups = groupHosts(hosts, mode, options);
  // in-sync hosts last and on one line: what needs a look comes first
  for (const group of groups.filter((g) => g.hosts[0]!.status !== 'in-sync')) {
    const names = group.hosts.map((h) => h.name);
    const who = names.length === 1 ? names[0]! : `${hostList(names)} (${plural(names.length, 'host')})`;
    const [status, ...rest] = group.lines;
    out.push(`${paint(c, '1', who)}: ${status}`, ...rest);
  }
  const inSync = hosts.filter((h) => h.status === 'in-sync').map((h) => h.name);
  if (inSync.length === 1) out.push(`${paint(c, '1', inSync[0]!)}: ${paint(c, '32', 'in sync')}`);
  else if (inSync.length > 1) out.push(`in sync (${inSync.length}): ${hostList(inSync)}`);
  // the same warning on many hosts once, with their list
  const said = new Map<string, string[]>();
  for (const host of hosts) {
    const lines = [
      ...(host.notes ?? []).map((n) => `note: ${n}`),
      ...host.warnings.map((w) => `${paint(c, '33', 'warning:')} ${w}`),
    ];
    for (const line of lines) said.set(line, [...(said.get(line) ?? []), host.name]);
  }
  for (const [line, names] of said) out.push(`${hostList(names)}: ${line}`);
  return out.length ? `${out.join('\n')}\n` : '';
}

export function summarize(result: FleetResult): string {
  const by = (status: HostOutcome['status']) => result.hosts.filter((h) => h.status === status);
  const changes = (hosts: HostOutcome[], pick: (h: HostOutcome) => number) =>
    hosts.reduce((n, h) => n + pick(h), 0);
  const parts: string[] = [];
  if (result.mode === 'apply') {
    const changed = by('changed');
    if (changed.length)
      parts.push(
        `${plural(
          changes(changed, (h) => h.changes.length),
          'change',
        )} applied on ${plural(changed.length, 'host')}`,
      );
    const pending = result.hosts.filter((h) => h.pending.length > 0 || h.status === 'drift');
    if (pending.length)
      parts.push(
        `${plural(
          changes(pending, (h) => h.pending.length),
          'change',
        )} not applied on ${plural(pending.length, 'host')}`,
      );
  } else {
    const drift = by('drift');
    if (drift.length) {
      parts.push(
        `${plural(
          changes(drift, (h) => h.changes.length + h.pending.length),
          'change',
        )} pending on ${plural(drift.length, 'host')}`,
      );
    }
  }
  const inSync = by('in-sync').length;
  if (inSync) parts.push(`${inSync} in sync`);
  if (by('failed').length) parts.push(`${by('failed').length} failed`);
  if (by('unreachable').length) parts.push(`${by('unreachable').length} unreachable`);
  if (by('unknown').length) parts.push(`${by('unknown').length} outcome unknown`);
  const label = { plan: 'Plan', apply: 'Apply', drift: 'Drift', facts: 'Facts' }[result.mode];
  return `${label}: ${parts.join('; ') || 'no hosts'}.\n`;
}

export function renderFleet(result: FleetResult, options: TextOptions): string {
  const groups = renderGroups(result.hosts, result.mode, options);
  return `${groups}${groups ? '\n' : ''}${summarize(result)}`;
}
