/**
 * `rpctl drift --format html`: the fleet on one self-contained page (inline CSS, no script, no
 * font or image from anywhere: it opens offline, from a mail attachment or a CI artifact).
 *
 *   grid       hosts x recipes, each cell coloured by its state; a drifting cell opens its diff
 *              (<details>), an unreachable host's cells open the error
 *   expiry     the certificate each host serves, on a timeline from today
 *   history    the drift spans of the last 30 days (report/history.ts), this check included
 *
 * Every text is HTML-escaped; the caller redacts the page like every other report.
 */
import { type FleetResult, type HostOutcome, isFailure } from '../engine/run.js';
import type { ExpiryByHost } from './drift.js';
import { type DriftSpan, type HistoryEntry, historyEntries, timeline } from './history.js';

const WINDOW_MS = 30 * 86_400_000;

const escapeHtml = (text: string) =>
  text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');

type CellState = 'in-sync' | 'drift' | 'unreachable' | 'failed' | 'unmanaged';

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2530;background:#f7f8fa}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5b6573;margin-bottom:12px}
.summary span{display:inline-block;margin-right:14px;font-weight:600}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.in-sync{background:#dff3e2}td.drift{background:#ffe8b3}td.unreachable,td.failed{background:#f8c9c4}
td.unmanaged{background:#f0f0f0;color:#8a929e}
summary{cursor:pointer;font-weight:600}
pre{margin:6px 0 0;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;max-width:70ch}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border:1px solid #d5d9e0}
.track{position:relative;height:18px;background:#fff;border:1px solid #d5d9e0;width:640px}
.bar{position:absolute;top:0;bottom:0}
.bar.in-sync{background:#7cc58a}.bar.drift{background:#f2b233}.bar.unreachable,.bar.failed{background:#e0665a}
.fill{position:absolute;top:0;bottom:0;left:0;background:#9db9ec;border-right:3px solid #2f6fde}
.fill.warn{background:#f3a49c;border-right-color:#d93025}
.axis{display:flex;justify-content:space-between;width:640px;color:#5b6573;font-size:12px}
.label{white-space:nowrap;padding-right:10px}
`;

function cellState(host: HostOutcome, recipe: string): CellState {
  if (!host.managed.some((m) => m.recipe === recipe)) return 'unmanaged';
  if (host.status === 'unreachable') return host.status;
  if (isFailure(host.status)) return 'failed';
  return [...host.changes, ...host.pending].some((c) => c.recipe === recipe) ? 'drift' : 'in-sync';
}

function cell(host: HostOutcome, recipe: string): string {
  const state = cellState(host, recipe);
  const id = `${escapeHtml(host.name)}/${escapeHtml(recipe)}`;
  if (state === 'unmanaged') return `<td class="unmanaged" data-cell="${id}">not managed</td>`;
  if (state === 'in-sync') return `<td class="in-sync" data-cell="${id}">in sync</td>`;
  if (state !== 'drift') {
    const message = escapeHtml(host.error?.message ?? state);
    return `<td class="${state}" data-cell="${id}"><details><summary>${state}</summary><pre>${message}</pre></details></td>`;
  }
  const changes = [...host.changes, ...host.pending].filter((c) => c.recipe === recipe);
  const body = changes
    .map((c) => `~ ${escapeHtml(c.summary)}${c.diff ? `\n${escapeHtml(c.diff.replace(/\n$/, ''))}` : ''}`)
    .join('\n\n');
  return `<td class="drift" data-cell="${id}"><details><summary>drift (${changes.length})</summary><pre>${body}</pre></details></td>`;
}

function grid(result: FleetResult, recipes: readonly string[]): string {
  const head = `<tr><th>host</th>${recipes.map((r) => `<th>${escapeHtml(r)}</th>`).join('')}</tr>`;
  const rows = result.hosts.map(
    (h) => `<tr><th>${escapeHtml(h.name)}</th>${recipes.map((r) => cell(h, r)).join('')}</tr>`,
  );
  return `<table class="grid">${head}${rows.join('')}</table>`;
}

const percent = (value: number) => `${Math.min(100, Math.max(0, value)).toFixed(2)}%`;

function expiryTimeline(expiry: ExpiryByHost): string {
  if (expiry.size === 0) return '<p>No served certificate was checked.</p>';
  const entries = [...expiry].sort(([, a], [, b]) => a.daysLeft - b.daysLeft);
  const scale = Math.max(365, ...entries.map(([, e]) => e.daysLeft));
  const rows = entries.map(([host, e]) => {
    const when = e.daysLeft < 0 ? `expired ${-e.daysLeft} days ago` : `${e.daysLeft} days left`;
    const label = `${e.notAfter.slice(0, 10)} (${when})`;
    return `<tr><td class="label">${escapeHtml(host)}</td><td><div class="track"><div class="fill${e.warn ? ' warn' : ''}" style="width:${percent((e.daysLeft / scale) * 100)}" title="${escapeHtml(label)}"></div></div></td><td class="label">${escapeHtml(label)}</td></tr>`;
  });
  const axis = `<div class="axis"><span>today</span><span>+${Math.round(scale / 2)} days</span><span>+${scale} days</span></div>`;
  return `<table class="expiry">${rows.join('')}<tr><td></td><td>${axis}</td><td></td></tr></table>`;
}

function spansTimeline(spans: readonly DriftSpan[], now: number): string {
  const start = now - WINDOW_MS;
  const groups = new Map<string, DriftSpan[]>();
  for (const span of spans) {
    const key = `${span.host} · ${span.recipe}`;
    groups.set(key, [...(groups.get(key) ?? []), span]);
  }
  // hosts and recipes that were never out of sync in the window would only be a green line each
  const shown = [...groups].filter(([, list]) => list.some((s) => s.state !== 'in-sync'));
  if (shown.length === 0) return '<p>No drift in the last 30 days.</p>';
  const at = (iso: string) => ((Date.parse(iso) - start) / WINDOW_MS) * 100;
  const rows = shown.map(([key, list]) => {
    const bars = list.map((s) => {
      const from = at(s.since);
      const to = s.until === undefined ? 100 : at(s.until);
      const title = `${s.state} from ${s.since}${s.until ? ` until ${s.until}` : ''}${s.changes.length ? `: ${s.changes.join('; ')}` : ''}`;
      return `<div class="bar ${s.state}" style="left:${percent(from)};width:${percent(Math.max(to - from, 0.4))}" title="${escapeHtml(title)}"></div>`;
    });
    return `<tr><td class="label">${escapeHtml(key)}</td><td><div class="track">${bars.join('')}</div></td></tr>`;
  });
  const axis = `<div class="axis"><span>30 days ago</span><span>15 days ago</span><span>now</span></div>`;
  return `<table class="spans">${rows.join('')}<tr><td></td><td>${axis}</td></tr></table>`;
}

export function htmlReport(
  result: FleetResult,
  options: { expiry: ExpiryByHost; fleet: string; past: readonly HistoryEntry[]; now: number },
): string {
  const recipes = [...new Set(result.hosts.flatMap((h) => h.managed.map((m) => m.recipe)))];
  const spans = timeline([...options.past, ...historyEntries(result, options.fleet)], {
    since: options.now - WINDOW_MS,
  });
  const count = (status: string) => result.hosts.filter((h) => h.status === status).length;
  const broken = count('unreachable') + count('failed');
  const summary = [
    `<span>${result.hosts.length} hosts</span>`,
    `<span>${count('in-sync')} in sync</span>`,
    `<span>${count('drift')} drifted</span>`,
    `<span>${broken} failed or unreachable</span>`,
  ].join('');
  const legend = ['in-sync', 'drift', 'unreachable', 'unmanaged']
    .map((s) => `<span class="${s}" style="background:var(--${s})">${s.replace('-', ' ')}</span>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rpctl drift: ${escapeHtml(options.fleet)}</title>
<style>:root{--in-sync:#dff3e2;--drift:#ffe8b3;--unreachable:#f8c9c4;--unmanaged:#f0f0f0}${STYLE}</style>
</head><body>
<h1>rpctl drift: ${escapeHtml(options.fleet)}</h1>
<div class="meta">checked ${escapeHtml(result.startedAt)} in ${(result.durationMs / 1000).toFixed(1)} s</div>
<div class="summary">${summary}</div>
<h2>Hosts and recipes</h2>
<div class="legend">${legend}</div>
<p>Open a drifting cell to see what <code>rpctl apply</code> would change.</p>
${grid(result, recipes)}
<h2>Certificate expiry</h2>
${expiryTimeline(options.expiry)}
<h2>Drift over the last 30 days</h2>
${spansTimeline(spans, options.now)}
</body></html>
`;
}
