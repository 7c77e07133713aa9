/**
 * What a benchmark run leaves: medians per tool and fleet size, ratios to the floor and to
 * Ansible, the targets of the performance budget judged (reported, never asserted), a table for
 * the terminal and the README, `bench/results/latest.json`, and an SVG chart of wall time against
 * fleet size per tool.
 */
import { cpus, release, totalmem } from 'node:os';
import { type Sample, type SizeResult, TOOLS, type Tool } from './compare.js';

export interface ToolSummary {
  /** medians and ranges over the runs that met their outcome */
  medianSeconds: number;
  samplesSeconds: number[];
  /** runs that missed their outcome, with why (not in the medians) */
  failed?: string[];
  peakRssMb: number | null;
  medianCpuSeconds: number | null;
  medianMachineCpuPerHost?: number | null;
  connectionsPerHost: [number, number];
  execsPerHost: [number, number] | null;
  roundTripsPerHost?: [number, number] | null;
}

export interface Target {
  what: string;
  measured: string;
  met: boolean;
}

export interface SizeSummary {
  size: number;
  /** the WAN profile's round-trip time; absent or null: the direct path */
  rttMs?: number | null;
  tools: Partial<Record<Tool, ToolSummary>>;
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
    mitogen?: string | null;
    pyinfra?: string | null;
    openssh: string;
  };
  repeat: number;
  /** repetitions of the peers' runs */
  ansibleRepeat: number;
  fleetUpSeconds: number;
  sizes: SizeSummary[];
  targets: Target[];
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const spanOf = (ranges: [number, number][]): [number, number] | null =>
  ranges.length ? [Math.min(...ranges.map((r) => r[0])), Math.max(...ranges.map((r) => r[1]))] : null;

function summarize(all: Sample[]): ToolSummary {
  const failed = all.filter((s) => s.failure !== undefined);
  const samples = all.filter((s) => s.failure === undefined);
  const counted = samples.length ? samples : all; // every run failed: show what they took
  const rss = counted.map((s) => s.peakRssMb).filter((v): v is number => v !== null);
  const cpu = counted.map((s) => s.cpuSeconds).filter((v): v is number => v !== null);
  const nonNull = <T>(values: (T | null)[]) => values.filter((v): v is T => v !== null);
  const summary: ToolSummary = {
    medianSeconds: samples.length ? median(samples.map((s) => s.seconds)) : Number.NaN,
    samplesSeconds: samples.map((s) => Number(s.seconds.toFixed(3))),
    peakRssMb: rss.length ? Math.max(...rss) : null,
    medianCpuSeconds: cpu.length ? median(cpu) : null,
    medianMachineCpuPerHost: samples.length ? median(samples.map((s) => s.machineCpuPerHost)) : null,
    connectionsPerHost: spanOf(counted.map((s) => s.connectionsPerHost)) ?? [0, 0],
    execsPerHost: spanOf(nonNull(counted.map((s) => s.execsPerHost))),
    roundTripsPerHost: spanOf(nonNull(counted.map((s) => s.roundTripsPerHost))),
  };
  if (failed.length) summary.failed = failed.map((s) => s.failure!);
  return summary;
}

export function buildReport(input: {
  results: SizeResult[];
  repeat: number;
  peerRepeat: number;
  fleetUpSeconds: number;
  versions: { ansible?: string; mitogen?: string; pyinfra?: string };
  openssh: string;
}): BenchReport {
  const sizes = input.results.map((r) => ({
    size: r.size,
    rttMs: r.rttMs,
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
      ansible: input.versions.ansible ?? null,
      mitogen: input.versions.mitogen ?? null,
      pyinfra: input.versions.pyinfra ?? null,
      openssh: input.openssh,
    },
    repeat: input.repeat,
    ansibleRepeat: input.peerRepeat,
    fleetUpSeconds: input.fleetUpSeconds,
    sizes,
    targets: judgeTargets(sizes),
  };
}

const seconds = (summary: ToolSummary | undefined) =>
  summary && Number.isFinite(summary.medianSeconds) ? summary.medianSeconds : undefined;
const direct = (sizes: SizeSummary[]) => sizes.filter((s) => (s.rttMs ?? null) === null);

/** Ratios the performance budget sets; each reported only when both sides were measured. */
const RATIO_TARGETS: { what: string; over: Tool; under: Tool; atMost?: number; atLeast?: number }[] = [
  { what: 'drift ≤ 1.5× floor', over: 'rpctl drift', under: 'floor', atMost: 1.5 },
  { what: 'apply ≤ 2× floor', over: 'rpctl apply', under: 'floor', atMost: 2 },
  {
    what: 'drift ≥ 25× faster than Ansible --check',
    over: 'ansible check',
    under: 'rpctl drift',
    atLeast: 25,
  },
  {
    what: 'drift ≥ 10× faster than Ansible+Mitogen --check',
    over: 'mitogen check',
    under: 'rpctl drift',
    atLeast: 10,
  },
  { what: 'drift ≥ 3× faster than pyinfra --dry', over: 'pyinfra dry', under: 'rpctl drift', atLeast: 3 },
  { what: 'apply ≥ 5× faster than Ansible apply', over: 'ansible apply', under: 'rpctl apply', atLeast: 5 },
  { what: 'apply ≥ 2× faster than pyinfra apply', over: 'pyinfra apply', under: 'rpctl apply', atLeast: 2 },
];

function ratioTarget(
  t: SizeSummary['tools'],
  target: (typeof RATIO_TARGETS)[number],
  value: (s: ToolSummary | undefined) => number | null | undefined = seconds,
): Target | undefined {
  const a = value(t[target.over]);
  const b = value(t[target.under]);
  if (!a || !b) return undefined;
  const r = a / b;
  const met = target.atMost !== undefined ? r <= target.atMost : r >= target.atLeast!;
  return { what: target.what, measured: `${r.toFixed(r >= 10 ? 1 : 2)}×`, met };
}

export function judgeTargets(sizes: SizeSummary[]): Target[] {
  const curve = direct(sizes);
  const largest = curve[curve.length - 1];
  if (!largest) return [];
  const t = largest.tools;
  const targets = RATIO_TARGETS.map((target) => ratioTarget(t, target)).filter((x): x is Target => !!x);
  const cpu = ratioTarget(
    t,
    { what: "drift machine CPU per host ≤ 2× the floor's", over: 'rpctl drift', under: 'floor', atMost: 2 },
    (s) => s?.medianMachineCpuPerHost,
  );
  if (cpu) targets.push(cpu);
  for (const wan of sizes.filter((s) => (s.rttMs ?? null) !== null)) {
    const r = ratioTarget(wan.tools, {
      what: `drift ≤ 1.3× floor at ${wan.rttMs} ms RTT (${wan.size} hosts)`,
      over: 'rpctl drift',
      under: 'floor',
      atMost: 1.3,
    });
    if (r) targets.push(r);
  }
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
  const smallest = curve[0]!;
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
  const failures = sizes.flatMap((s) =>
    Object.values(s.tools).flatMap((summary) => summary.failed ?? []),
  ).length;
  targets.push({ what: 'every run met its outcome', measured: `${failures} failed`, met: failures === 0 });
  return targets;
}

/** The rpctl run each peer row is compared with. */
export const RPCTL_PEER: Partial<Record<Tool, Tool>> = {
  'ansible check': 'rpctl drift',
  'mitogen check': 'rpctl drift',
  'pyinfra dry': 'rpctl drift',
  'ansible apply': 'rpctl apply',
  'mitogen apply': 'rpctl apply',
  'pyinfra apply': 'rpctl apply',
  'ansible revert': 'rpctl revert',
  'mitogen revert': 'rpctl revert',
  'pyinfra revert': 'rpctl revert',
};

const range = (r: [number, number] | null | undefined) =>
  r === null || r === undefined ? '—' : r[0] === r[1] ? String(r[0]) : `${r[0]}–${r[1]}`;
const fixed = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits);

/** A Markdown table per fleet size (readable on a terminal as is). */
export function renderTable(report: BenchReport): string {
  const out: string[] = [];
  for (const { size, rttMs, tools } of report.sizes) {
    out.push(`**${size} appliances${rttMs ? `, behind the WAN relay at ${rttMs} ms RTT` : ''}**`, '');
    out.push(
      '| tool | runs | wall s (median) | × floor | × rpctl | SSH conn/host | execs/host | round trips/host | machine CPU s/host | control CPU s | peak RSS MB |',
    );
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const floor = seconds(tools.floor);
    for (const tool of TOOLS) {
      const s = tools[tool];
      if (!s) continue;
      const peer = RPCTL_PEER[tool] ? seconds(tools[RPCTL_PEER[tool]!]) : undefined;
      const wall = seconds(s);
      const runs = `${s.samplesSeconds.length}${s.failed ? ` + ${s.failed.length} failed` : ''}`;
      out.push(
        `| ${tool} | ${runs} | ${fixed(wall, 2)} | ${floor && wall ? (wall / floor).toFixed(2) : '—'} | ${
          peer && wall ? `${(wall / peer).toFixed(1)}` : ''
        } | ${range(s.connectionsPerHost)} | ${range(s.execsPerHost)} | ${range(s.roundTripsPerHost)} | ${fixed(s.medianMachineCpuPerHost, 3)} | ${fixed(s.medianCpuSeconds, 2)} | ${fixed(s.peakRssMb, 0)} |`,
      );
    }
    out.push('');
  }
  out.push('| target | measured | met |', '| --- | ---: | --- |');
  for (const t of report.targets) out.push(`| ${t.what} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  const failures = report.sizes.flatMap(({ size, rttMs, tools }) =>
    Object.entries(tools).flatMap(([tool, s]) =>
      (s.failed ?? []).map(
        (why) => `- ${tool} at ${size}${rttMs ? ` @${rttMs} ms` : ''}: ${why.split('\n').join('; ')}`,
      ),
    ),
  );
  if (failures.length) out.push('', 'Failed runs (not in the medians):', ...failures);
  return out.join('\n');
}

export function describeMachine(report: BenchReport): string {
  const m = report.machine;
  const peers = [m.ansible ?? 'Ansible not run', m.mitogen, m.pyinfra].filter(Boolean).join(', ');
  return `${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.openssh}, ${peers}`;
}

const CHART_TOOLS: [Tool, string][] = [
  ['floor', '#555555'],
  ['rpctl drift', '#1f77b4'],
  ['rpctl apply', '#2ca02c'],
  ['ansible check', '#d62728'],
  ['ansible apply', '#ff7f0e'],
  ['mitogen check', '#9467bd'],
  ['pyinfra dry', '#8c564b'],
  ['pyinfra apply', '#e377c2'],
];

/**
 * Wall time (log scale) against fleet size, one line per tool over the direct path; the WAN
 * profile's medians as open circles at its size.
 */
export function renderSvg(report: BenchReport): string {
  const W = 720;
  const H = 440;
  const pad = { left: 64, right: 170, top: 36, bottom: 52 };
  const curve = direct(report.sizes);
  const wan = report.sizes.filter((s) => (s.rttMs ?? null) !== null);
  const sizes = curve.map((s) => s.size);
  const values = report.sizes.flatMap((s) =>
    Object.values(s.tools)
      .map((t) => t.medianSeconds)
      .filter((v) => Number.isFinite(v) && v > 0),
  );
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
  const at = (s: SizeSummary, tool: Tool) => {
    const v = seconds(s.tools[tool]);
    return v === undefined ? undefined : `${x(s.size).toFixed(1)},${y(v).toFixed(1)}`;
  };
  const present = CHART_TOOLS.filter(([tool]) => report.sizes.some((s) => at(s, tool)));
  present.forEach(([tool, colour], i) => {
    const points = curve.map((s) => at(s, tool)).filter((p): p is string => !!p);
    if (points.length > 1)
      parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of points) {
      const [px, py] = p.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${colour}"/>`);
    }
    for (const p of wan.map((s) => at(s, tool)).filter((q): q is string => !!q)) {
      const [px, py] = p.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="4" fill="white" stroke="${colour}" stroke-width="2"/>`);
    }
    const ly = pad.top + 10 + i * 20;
    parts.push(
      `<line x1="${W - pad.right + 16}" x2="${W - pad.right + 40}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${W - pad.right + 46}" y="${ly + 4}">${tool}</text>`,
    );
  });
  if (wan.length) {
    const ly = pad.top + 10 + present.length * 20 + 10;
    parts.push(
      `<circle cx="${W - pad.right + 28}" cy="${ly}" r="4" fill="white" stroke="#555" stroke-width="2"/>`,
      `<text x="${W - pad.right + 46}" y="${ly + 4}">at ${wan.map((s) => s.rttMs).join('/')} ms RTT</text>`,
    );
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
