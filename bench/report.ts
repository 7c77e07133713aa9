/**
 * What a benchmark run leaves: medians per tool and fleet size, ratios to the floor and to
 * Ansible, the targets of the performance budget judged (reported, never asserted), a table for
 * the terminal and the README, `bench/results/latest.json`, and an SVG chart of wall time against
 * fleet size per tool.
 */
import { cpus, release, totalmem } from 'node:os';
import type { Sample, SizeResult, Tool } from './compare.js';

export interface ToolSummary {
  medianSeconds: number;
  samplesSeconds: number[];
  peakRssMb: number | null;
  medianCpuSeconds: number | null;
  connectionsPerHost: [number, number];
  execsPerHost: [number, number] | null;
}

export interface Target {
  what: string;
  measured: string;
  met: boolean;
}

export interface BenchReport {
  date: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    kernel: string;
    node: string;
    ansible: string | null;
    openssh: string;
  };
  repeat: number;
  ansibleRepeat: number;
  fleetUpSeconds: number;
  sizes: { size: number; tools: Partial<Record<Tool, ToolSummary>> }[];
  targets: Target[];
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function summarize(samples: Sample[]): ToolSummary {
  const rss = samples.map((s) => s.peakRssMb).filter((v): v is number => v !== null);
  const cpu = samples.map((s) => s.cpuSeconds).filter((v): v is number => v !== null);
  const execs = samples.map((s) => s.execsPerHost).filter((v): v is [number, number] => v !== null);
  return {
    medianSeconds: median(samples.map((s) => s.seconds)),
    samplesSeconds: samples.map((s) => Number(s.seconds.toFixed(3))),
    peakRssMb: rss.length ? Math.max(...rss) : null,
    medianCpuSeconds: cpu.length ? median(cpu) : null,
    connectionsPerHost: [
      Math.min(...samples.map((s) => s.connectionsPerHost[0])),
      Math.max(...samples.map((s) => s.connectionsPerHost[1])),
    ],
    execsPerHost: execs.length
      ? [Math.min(...execs.map((e) => e[0])), Math.max(...execs.map((e) => e[1]))]
      : null,
  };
}

export function buildReport(input: {
  results: SizeResult[];
  repeat: number;
  ansibleRepeat: number;
  fleetUpSeconds: number;
  ansible: string | undefined;
  openssh: string;
}): BenchReport {
  const sizes = input.results.map((r) => ({
    size: r.size,
    tools: Object.fromEntries(
      Object.entries(r.samples).map(([tool, samples]) => [tool, summarize(samples)]),
    ) as Partial<Record<Tool, ToolSummary>>,
  }));
  return {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      ansible: input.ansible ?? null,
      openssh: input.openssh,
    },
    repeat: input.repeat,
    ansibleRepeat: input.ansibleRepeat,
    fleetUpSeconds: input.fleetUpSeconds,
    sizes,
    targets: judgeTargets(sizes),
  };
}

const seconds = (summary: ToolSummary | undefined) => summary?.medianSeconds;

export function judgeTargets(sizes: BenchReport['sizes']): Target[] {
  const largest = sizes[sizes.length - 1];
  if (!largest) return [];
  const t = largest.tools;
  const targets: Target[] = [];
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? a / b : undefined);
  const driftFloor = ratio(seconds(t['rpctl drift']), seconds(t.floor));
  if (driftFloor !== undefined)
    targets.push({
      what: 'drift ≤ 1.5× floor',
      measured: `${driftFloor.toFixed(2)}×`,
      met: driftFloor <= 1.5,
    });
  const ansibleDrift = ratio(seconds(t['ansible check']), seconds(t['rpctl drift']));
  if (ansibleDrift !== undefined)
    targets.push({
      what: 'drift ≥ 20× faster than Ansible check mode',
      measured: `${ansibleDrift.toFixed(1)}×`,
      met: ansibleDrift >= 20,
    });
  const applyFloor = ratio(seconds(t['rpctl apply']), seconds(t.floor));
  if (applyFloor !== undefined)
    targets.push({ what: 'apply ≤ 2× floor', measured: `${applyFloor.toFixed(2)}×`, met: applyFloor <= 2 });
  const rpctlRows = Object.entries(t).filter(([tool]) => tool.startsWith('rpctl')) as [Tool, ToolSummary][];
  const conns = rpctlRows.flatMap(([, s]) => s.connectionsPerHost);
  targets.push({
    what: 'one SSH connection per host (rpctl)',
    measured: `${Math.min(...conns)}–${Math.max(...conns)}`,
    met: conns.every((c) => c === 1),
  });
  const rss = Math.max(...rpctlRows.map(([, s]) => s.peakRssMb ?? 0));
  targets.push({
    what: `control RSS ≤ 150 MB at ${largest.size} hosts`,
    measured: `${rss.toFixed(0)} MB`,
    met: rss <= 150,
  });
  const smallest = sizes[0]!;
  if (smallest !== largest) {
    for (const tool of ['rpctl drift', 'rpctl apply'] as const) {
      const perHostSmall = (seconds(smallest.tools[tool]) ?? 0) / smallest.size;
      const perHostLarge = (seconds(largest.tools[tool]) ?? 0) / largest.size;
      targets.push({
        what: `${tool}: linear growth (time per host at ${largest.size} ≤ at ${smallest.size})`,
        measured: `${(perHostSmall * 1000).toFixed(0)} → ${(perHostLarge * 1000).toFixed(0)} ms/host`,
        met: perHostLarge <= perHostSmall * 1.1,
      });
    }
  }
  return targets;
}

/** The tool each rpctl row is compared with on the Ansible side. */
const ANSIBLE_PEER: Partial<Record<Tool, Tool>> = {
  'rpctl drift': 'ansible check',
  'rpctl apply': 'ansible apply',
  'rpctl revert': 'ansible revert',
};

const range = (r: [number, number] | null) =>
  r === null ? '—' : r[0] === r[1] ? String(r[0]) : `${r[0]}–${r[1]}`;

/** A Markdown table per fleet size (readable on a terminal as is). */
export function renderTable(report: BenchReport): string {
  const out: string[] = [];
  for (const { size, tools } of report.sizes) {
    out.push(`**${size} appliances**`, '');
    out.push(
      '| tool | runs | wall s (median) | × floor | Ansible ÷ rpctl | SSH conn/host | execs/host | control CPU s | peak RSS MB |',
    );
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const floor = tools.floor?.medianSeconds;
    for (const [tool, s] of Object.entries(tools) as [Tool, ToolSummary][]) {
      const peer = ANSIBLE_PEER[tool] ? tools[ANSIBLE_PEER[tool]!] : undefined;
      out.push(
        `| ${tool} | ${s.samplesSeconds.length} | ${s.medianSeconds.toFixed(2)} | ${floor ? (s.medianSeconds / floor).toFixed(2) : '—'} | ${
          peer ? `${(peer.medianSeconds / s.medianSeconds).toFixed(1)}×` : ''
        } | ${range(s.connectionsPerHost)} | ${range(s.execsPerHost)} | ${s.medianCpuSeconds === null ? '—' : s.medianCpuSeconds.toFixed(2)} | ${s.peakRssMb === null ? '—' : s.peakRssMb.toFixed(0)} |`,
      );
    }
    out.push('');
  }
  out.push('| target | measured | met |', '| --- | ---: | --- |');
  for (const t of report.targets) out.push(`| ${t.what} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  return out.join('\n');
}

export function describeMachine(report: BenchReport): string {
  const m = report.machine;
  return `${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.openssh}, ${m.ansible ?? 'Ansible not run'}`;
}

const CHART_TOOLS: [Tool, string][] = [
  ['floor', '#555555'],
  ['rpctl drift', '#1f77b4'],
  ['rpctl apply', '#2ca02c'],
  ['ansible check', '#d62728'],
  ['ansible apply', '#ff7f0e'],
];

/** Wall time (log scale) against fleet size, one line per tool. */
export function renderSvg(report: BenchReport): string {
  const W = 720;
  const H = 440;
  const pad = { left: 64, right: 170, top: 36, bottom: 52 };
  const sizes = report.sizes.map((s) => s.size);
  const values = report.sizes.flatMap((s) => Object.values(s.tools).map((t) => t.medianSeconds));
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const maxSize = Math.max(...sizes);
  const x = (size: number) => pad.left + (size / maxSize) * (W - pad.left - pad.right);
  const y = (s: number) =>
    pad.top +
    (1 - (Math.log10(s) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (H - pad.top - pad.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${pad.left}" y="22" font-size="14">Wall time against fleet size (median of ${report.repeat}, log scale)</text>`,
  ];
  for (let decade = lo; decade <= hi; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const v = decade * step;
      if (v > hi) break;
      parts.push(
        `<line x1="${pad.left}" x2="${W - pad.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
        `<text x="${pad.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v} s</text>`,
      );
    }
  }
  for (const size of [0, ...sizes]) {
    parts.push(
      `<text x="${x(size).toFixed(1)}" y="${H - pad.bottom + 18}" text-anchor="middle">${size}</text>`,
    );
  }
  parts.push(
    `<text x="${(pad.left + W - pad.right) / 2}" y="${H - 12}" text-anchor="middle">appliances</text>`,
    `<line x1="${pad.left}" x2="${W - pad.right}" y1="${H - pad.bottom}" y2="${H - pad.bottom}" stroke="#999"/>`,
  );
  CHART_TOOLS.forEach(([tool, colour], i) => {
    const points = report.sizes
      .filter((s) => s.tools[tool])
      .map((s) => `${x(s.size).toFixed(1)},${y(s.tools[tool]!.medianSeconds).toFixed(1)}`);
    if (points.length === 0) return;
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of points) {
      const [px, py] = p.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${colour}"/>`);
    }
    const ly = pad.top + 10 + i * 20;
    parts.push(
      `<line x1="${W - pad.right + 16}" x2="${W - pad.right + 40}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${W - pad.right + 46}" y="${ly + 4}">${tool}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
