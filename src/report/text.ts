/**
 * Human output of plan, apply and drift: per host its changes with diffs, warnings and errors,
 * then a closing count. Colour only when the caller says so (a terminal without NO_COLOR).
 *
 *   lab-1: 1 change
 *     ~ upstreams: add 127.0.3.13:443
 *       --- /etc/nginx/sites-available/pexapp
 *       ...
 *   lab-2: in sync
 *
 *   Plan: 1 change on 1 host; 1 in sync.
 */
import type { FleetResult, HostOutcome } from '../engine/run.js';
import { colourDiff } from './diff.js';

export interface TextOptions {
  colour: boolean;
  /** include unified diffs (plan, drift) */
  diffs: boolean;
}

const paint = (on: boolean, code: string, text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

function indent(text: string, prefix: string): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

export function renderHost(host: HostOutcome, mode: FleetResult['mode'], options: TextOptions): string {
  const lines: string[] = [];
  const c = options.colour;
  const count = (n: number) => `${n} change${n === 1 ? '' : 's'}`;
  let headline: string;
  switch (host.status) {
    case 'in-sync':
      headline = paint(c, '32', 'in sync');
      break;
    case 'changed':
      headline = paint(c, '33', `changed (${count(host.changes.length)})`);
      break;
    case 'drift':
      headline = paint(
        c,
        '33',
        mode === 'apply'
          ? `not applied (${count(host.pending.length)})`
          : count(host.changes.length + host.pending.length),
      );
      break;
    case 'unreachable':
      headline = paint(c, '31', 'UNREACHABLE');
      break;
    default:
      headline = paint(c, '31', 'FAILED');
  }
  lines.push(`${paint(c, '1', host.name)}: ${headline}`);
  if (host.error) lines.push(`  ${paint(c, '31', host.error.message)}`);
  const show = (change: HostOutcome['changes'][number], mark: string) => {
    const note = change.deferred
      ? ' (disruptive: deferred, needs --allow-disruptive)'
      : change.disruptive
        ? ' (disruptive)'
        : '';
    lines.push(`  ${mark} ${change.recipe}: ${change.summary}${paint(c, '35', note)}`);
    if (options.diffs && change.diff) lines.push(indent(c ? colourDiff(change.diff) : change.diff, '      '));
  };
  for (const change of host.changes) show(change, host.status === 'changed' ? '✓' : '~');
  for (const change of host.pending) show(change, '!');
  for (const check of host.verification.filter((v) => !v.ok)) lines.push(`  ✗ ${check.message}`);
  if (host.interrupted) lines.push(`  ${paint(c, '33', 'warning:')} ${host.interrupted}`);
  for (const note of host.notes ?? []) lines.push(`  note: ${note}`);
  for (const warning of host.warnings) lines.push(`  ${paint(c, '33', 'warning:')} ${warning}`);
  return `${lines.join('\n')}\n`;
}

export function summarize(result: FleetResult): string {
  const by = (status: HostOutcome['status']) => result.hosts.filter((h) => h.status === status);
  const changes = (hosts: HostOutcome[], pick: (h: HostOutcome) => number) =>
    hosts.reduce((n, h) => n + pick(h), 0);
  const parts: string[] = [];
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
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
  const label = { plan: 'Plan', apply: 'Apply', drift: 'Drift', facts: 'Facts' }[result.mode];
  return `${label}: ${parts.join('; ') || 'no hosts'}.\n`;
}

export function renderFleet(result: FleetResult, options: TextOptions): string {
  return `${result.hosts.map((h) => renderHost(h, result.mode, options)).join('')}\n${summarize(result)}`;
}
