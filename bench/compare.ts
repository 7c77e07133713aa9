/**
 * One benchmark run: the fleet comes up once at the largest size; for each fleet size and each
 * repetition the tools run one after another (floor, the drift checks of rpctl, Ansible, Ansible
 * with Mitogen and pyinfra, then each tool's apply and revert of one upstream node), so a slow
 * moment of the machine hits every tool alike. With an RTT, the middle size runs once more with
 * every appliance behind the WAN relay.
 *
 * Every run is checked for the outcome it must have (in sync, changed everywhere, ...). A run
 * that misses it is recorded as a failed sample with each failed host's error, printed at once,
 * and the benchmark goes on. SSH logins are counted from each appliance's own sshd log, machine
 * CPU from /proc/stat, round trips by the relay.
 */
import { DEFAULT_CONCURRENCY } from '../src/cli/run-options.js';
import { clientFiles, type LabConfig, type LabState } from '../test/lab/lab.js';
import { type AnsibleProject, ansibleFailures, ansibleProject, closeMasters, parseRecap } from './ansible.js';
import {
  acceptedLogins,
  benchInventory,
  fleetDown,
  fleetUp,
  machineBusySeconds,
  perHost,
  type Timed,
  timeCommand,
  timeRpctl,
} from './fleet.js';
import { timeFloor } from './floor.js';
import { peerFiles } from './peer-files.js';
import { type PyinfraProject, parsePyinfraSummary, pyinfraFailures, pyinfraProject } from './pyinfra.js';
import { directRoute, type Route, WanRelay } from './wan.js';

export const TOOLS = [
  'floor',
  'rpctl drift',
  'ansible check',
  'mitogen check',
  'pyinfra dry',
  'rpctl apply',
  'rpctl revert',
  'ansible apply',
  'ansible revert',
  'mitogen apply',
  'mitogen revert',
  'pyinfra apply',
  'pyinfra revert',
] as const;
export type Tool = (typeof TOOLS)[number];

export interface Sample {
  seconds: number;
  peakRssMb: number | null;
  /** CPU seconds of the control process (and its children: Ansible's forks, ssh clients) */
  cpuSeconds: number | null;
  /** busy CPU seconds of the whole machine during the run, divided by the fleet size */
  machineCpuPerHost: number;
  /** SSH logins per host during the run: [fewest, most] */
  connectionsPerHost: [number, number];
  /** execs per host, where the tool reports it (rpctl) */
  execsPerHost: [number, number] | null;
  /** round trips per host, counted by the WAN relay (RTT profile only) */
  roundTripsPerHost: [number, number] | null;
  /** why the run missed its outcome (each failed host's error); a failed sample is not timed */
  failure?: string;
}

export interface SizeResult {
  size: number;
  /** round-trip time of the WAN relay every appliance sat behind, or null for the direct path */
  rttMs: number | null;
  samples: Partial<Record<Tool, Sample[]>>;
}

export interface CompareOptions {
  sizes: number[];
  repeat: number;
  /** repetitions of the peers' runs (at most `repeat`; they take minutes at 100 hosts) */
  peerRepeat: number;
  ansible: boolean;
  mitogen: boolean;
  /** a pyinfra checkout to run, or none */
  pyinfra?: string;
  /** also measure the middle size behind the WAN relay at this round-trip time */
  rttMs?: number;
  /** progress lines */
  log: (line: string) => void;
}

/** The bench cannot run at all (a missing tool, a fleet that does not come up). */
export class BenchFailure extends Error {}

interface Peers {
  ansible?: AnsibleProject;
  pyinfra?: PyinfraProject;
}

const ADDED_NODE = '127.0.3.77';
const range = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];

export async function compare(
  cfg: LabConfig,
  options: CompareOptions,
): Promise<{ fleetUpSeconds: number; results: SizeResult[] }> {
  const largest = Math.max(...options.sizes);
  options.log(`lab: ${largest} appliances at ${cfg.prefix}.N`);
  const fleet = await fleetUp(cfg, largest);
  options.log(`lab up in ${fleet.seconds.toFixed(1)} s`);
  try {
    const files = peerFiles(cfg, fleet.state);
    const peers: Peers = {};
    if (options.ansible || options.mitogen) peers.ansible = ansibleProject(cfg, fleet.state, files);
    if (options.pyinfra) peers.pyinfra = pyinfraProject(cfg, fleet.state, files, options.pyinfra);
    const direct = directRoute(cfg, fleet.state);
    const snapshot = (names: readonly string[]) => files.snapshotChanged(names);
    const results: SizeResult[] = [];
    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      const sizeRun = new SizeRun(cfg, fleet.state, peers, options, { size, route: direct, rttMs: null });
      results.push(await sizeRun.measureAll(snapshot));
    }
    if (options.rttMs !== undefined) {
      const size = [...options.sizes].sort((a, b) => a - b)[Math.floor((options.sizes.length - 1) / 2)]!;
      options.log(`WAN profile: ${size} appliances behind a relay at ${options.rttMs} ms RTT`);
      const relay = await WanRelay.start(cfg, fleet.state, options.rttMs);
      try {
        const at = { size, route: relay.route, rttMs: options.rttMs };
        results.push(await new SizeRun(cfg, fleet.state, peers, options, at, relay).measureAll(snapshot));
      } finally {
        relay.stop();
      }
    }
    return { fleetUpSeconds: fleet.seconds, results };
  } finally {
    await fleetDown(cfg);
  }
}

/** What a run must have done: undefined, or what went wrong with each failed host's error. */
type Check = (t: Timed) => string | undefined;

/** Every tool at one fleet size over one path (direct or relayed). */
class SizeRun {
  private readonly names: string[];
  private readonly samples: SizeResult['samples'] = {};
  private readonly label: string;

  constructor(
    private readonly cfg: LabConfig,
    state: LabState,
    private readonly peers: Peers,
    private readonly options: CompareOptions,
    private readonly at: { size: number; route: Route; rttMs: number | null },
    private readonly relay?: WanRelay,
  ) {
    this.names = state.appliances.slice(0, at.size).map((a) => a.name);
    this.label = `${at.size}${at.rttMs === null ? '' : ` @${at.rttMs}ms`}`;
  }

  async measureAll(snapshotChanged: (names: readonly string[]) => void): Promise<SizeResult> {
    const { size, route, rttMs } = this.at;
    const suffix = rttMs === null ? '' : '-rtt';
    const inSync = benchInventory(this.cfg, `bench-${size}${suffix}`, { size, route });
    const added = benchInventory(this.cfg, `bench-${size}${suffix}-add`, {
      size,
      route,
      addNode: ADDED_NODE,
    });
    const { ansible, pyinfra } = this.peers;
    const hosts = ansible?.inventory(size, route);
    const pyHosts = pyinfra?.inventory(size, route);
    const rpctl = (args: string[]) => () => timeRpctl(this.cfg, [...args, '--format', 'json']);
    const playbook = (variant: 'plain' | 'mitogen', file: string, extra: string[]) => () =>
      timeCommand(
        ['ansible-playbook', '-i', hosts!, '-f', String(size), file, ...extra],
        { ANSIBLE_NOCOLOR: '1', ANSIBLE_CONFIG: ansible!.config(variant) },
        ansible!.dir,
      );
    const py = (deploy: 'check.py' | 'apply.py', extra: string[]) => () =>
      timeCommand(pyinfra!.argv(pyHosts!, size, deploy, extra), pyinfra!.env, pyinfra!.dir);

    // Warm the page cache and sshd's first-connection costs, untimed.
    await this.floor();
    timeRpctl(this.cfg, ['drift', '-i', inSync, '--format', 'json']);
    await this.relay?.roundTrips();

    for (let rep = 1; rep <= this.options.repeat; rep++) {
      this.options.log(` size ${this.label}, repetition ${rep}/${this.options.repeat}`);
      const peersNow = rep <= this.options.peerRepeat;
      const ansibleNow = peersNow && this.options.ansible;
      const mitogenNow = peersNow && this.options.mitogen;
      const pyinfraNow = peersNow && pyinfra !== undefined;
      await this.measure(
        'floor',
        () => this.floor(),
        (t) => (t.code === 0 ? undefined : t.stderr),
      );
      await this.measure('rpctl drift', rpctl(['drift', '-i', inSync]), this.rpctlStatuses('in-sync'));
      if (ansibleNow)
        await this.measure(
          'ansible check',
          playbook('plain', 'check.yml', ['--check', '--diff']),
          recapIs(0),
        );
      if (mitogenNow)
        await this.measure(
          'mitogen check',
          playbook('mitogen', 'check.yml', ['--check', '--diff']),
          recapIs(0),
        );
      if (pyinfraNow) await this.measure('pyinfra dry', py('check.py', ['--dry']), this.pyinfraChanged(0));
      await this.measure(
        'rpctl apply',
        rpctl(['apply', '-i', added, '--yes']),
        this.rpctlStatuses('changed'),
      );
      if (rep === 1) snapshotChanged(this.names); // the peers' change: the file rpctl wrote
      await this.measure(
        'rpctl revert',
        rpctl(['apply', '-i', inSync, '--yes']),
        this.rpctlStatuses('changed'),
      );
      // apply.yml changes three things per host: the copy, and the two handlers (nginx -t, reload)
      for (const [variant, now] of [
        ['ansible', ansibleNow],
        ['mitogen', mitogenNow],
      ] as const) {
        if (!now) continue;
        const config = variant === 'ansible' ? 'plain' : 'mitogen';
        const change = ['-e', 'variant=pexapp-changed'];
        await this.measure(`${variant} apply`, playbook(config, 'apply.yml', change), recapIs(3 * size));
        const back = ['-e', 'variant=pexapp'];
        await this.measure(`${variant} revert`, playbook(config, 'apply.yml', back), recapIs(3 * size));
      }
      if (pyinfraNow) {
        const change = ['--data', 'variant=pexapp-changed'];
        await this.measure('pyinfra apply', py('apply.py', change), this.pyinfraChanged(3));
        await this.measure(
          'pyinfra revert',
          py('apply.py', ['--data', 'variant=pexapp']),
          this.pyinfraChanged(3),
        );
      }
    }
    return { size, rttMs, samples: this.samples };
  }

  private floor(): Promise<Timed> {
    const targets = this.names.map((name) => ({ ...this.at.route.endpoint(name), user: 'pexip' }));
    return timeFloor(targets, {
      identityFile: clientFiles(this.cfg).identityFile,
      knownHosts: this.at.route.knownHosts,
      concurrency: Math.min(this.at.size, DEFAULT_CONCURRENCY),
    });
  }

  private async measure(tool: Tool, run: () => Timed | Promise<Timed>, check: Check): Promise<void> {
    const before = acceptedLogins(this.cfg, this.names);
    const busyBefore = machineBusySeconds();
    const timed = await run();
    const busy = machineBusySeconds() - busyBefore;
    const after = acceptedLogins(this.cfg, this.names);
    if (tool.startsWith('ansible')) closeMasters(this.peers.ansible!);
    const trips = this.relay ? await this.relay.roundTrips() : undefined;
    const failure = check(timed);
    const sample: Sample = {
      seconds: timed.seconds,
      peakRssMb: Number.isNaN(timed.peakRssMb) ? null : timed.peakRssMb,
      cpuSeconds: Number.isNaN(timed.cpuSeconds) ? null : timed.cpuSeconds,
      machineCpuPerHost: busy / this.at.size,
      connectionsPerHost: range(after.map((n, i) => n - (before[i] ?? 0))),
      execsPerHost: tool.startsWith('rpctl') && !failure ? range(perHost(timed.stdout).execs) : null,
      roundTripsPerHost: trips
        ? range(this.names.map((name) => trips[this.at.route.endpoint(name).address]?.roundTrips ?? 0))
        : null,
    };
    if (failure) sample.failure = failure;
    this.samples[tool] = [...(this.samples[tool] ?? []), sample];
    const cpu = sample.cpuSeconds === null ? '—' : `${sample.cpuSeconds.toFixed(2)} s`;
    const rt = sample.roundTripsPerHost ? `  round trips/host ${sample.roundTripsPerHost.join('-')}` : '';
    this.options.log(
      `  ${this.label.padStart(3)} ${tool.padEnd(15)} ${timed.seconds.toFixed(2).padStart(7)} s  control CPU ${cpu}  machine CPU/host ${sample.machineCpuPerHost.toFixed(3)} s  conn/host ${sample.connectionsPerHost.join('-')}${rt}`,
    );
    if (failure)
      this.options.log(`  FAILED ${tool} on ${this.label} appliances: ${failure.replaceAll('\n', '\n    ')}`);
  }

  /** rpctl's JSON report: every host `expected`, exit 0; else each other host's status and error. */
  private rpctlStatuses(expected: string): Check {
    return (t) => {
      let report: ReturnType<typeof perHost>;
      try {
        report = perHost(t.stdout);
      } catch {
        return `exit ${t.code}, no JSON report\n${tail(t.stderr)}`;
      }
      const others = report.hosts.filter((h) => h.status !== expected);
      if (t.code === 0 && others.length === 0 && report.hosts.length === this.at.size) return undefined;
      const lines = others.map((h) => `${h.name}: ${h.status}${h.error ? `: ${h.error}` : ''}`);
      return [
        `exit ${t.code}, ${others.length} of ${report.hosts.length} hosts not ${expected}`,
        ...lines,
      ].join('\n');
    };
  }

  /** pyinfra's closing summary: every host there, `changedPerHost` changes each, no error. */
  private pyinfraChanged(changedPerHost: number): Check {
    return (t) => {
      const output = `${t.stdout}\n${t.stderr}`;
      const totals = parsePyinfraSummary(output);
      if (
        t.code === 0 &&
        totals.hosts === this.at.size &&
        totals.errors === 0 &&
        totals.changed === changedPerHost * this.at.size
      )
        return undefined;
      return [
        `exit ${t.code}, expected ${changedPerHost * this.at.size} changes on ${this.at.size} hosts, got ${JSON.stringify(totals)}`,
        ...pyinfraFailures(output).slice(0, 20),
        ...(totals.hosts === 0 ? [tail(output)] : []),
      ].join('\n');
    };
  }
}

function recapIs(changed: number): Check {
  return (t) => {
    const recap = parseRecap(t.stdout);
    if (t.code === 0 && recap.failed === 0 && recap.unreachable === 0 && recap.changed === changed)
      return undefined;
    const fatal = ansibleFailures(t.stdout);
    return [
      `exit ${t.code}, expected ${changed} changed, got ${JSON.stringify(recap)}`,
      ...fatal.slice(0, 20),
      ...(fatal.length === 0 ? [tail(t.stderr || t.stdout)] : []),
    ].join('\n');
  };
}

const tail = (text: string) => text.trim().split('\n').slice(-8).join('\n');
