/**
 * One benchmark run: the fleet comes up once at the largest size; for each fleet size and each
 * repetition the tools run one after another (floor, rpctl drift, Ansible check, rpctl apply and
 * revert, Ansible apply and revert), so a slow moment of the machine hits every tool alike.
 * Every run is checked for the outcome it must have (in sync, changed everywhere, ...) before its
 * time counts; SSH logins are counted from each appliance's own sshd log.
 */
import { DEFAULT_CONCURRENCY } from '../src/cli/run-options.js';
import { clientFiles, type LabConfig, type LabState } from '../test/lab/lab.js';
import { type AnsibleProject, ansibleProject, closeMasters, parseRecap } from './ansible.js';
import {
  acceptedLogins,
  benchInventory,
  fleetDown,
  fleetUp,
  perHost,
  type Timed,
  timeCommand,
  timeRpctl,
} from './fleet.js';
import { timeFloor } from './floor.js';

export const TOOLS = [
  'floor',
  'rpctl drift',
  'ansible check',
  'rpctl apply',
  'rpctl revert',
  'ansible apply',
  'ansible revert',
] as const;
export type Tool = (typeof TOOLS)[number];

export interface Sample {
  seconds: number;
  peakRssMb: number | null;
  /** CPU seconds of the control process (and its children: Ansible's forks, ssh clients) */
  cpuSeconds: number | null;
  /** SSH logins per host during the run: [fewest, most] */
  connectionsPerHost: [number, number];
  /** execs per host, where the tool reports it (rpctl) */
  execsPerHost: [number, number] | null;
}

export interface SizeResult {
  size: number;
  samples: Partial<Record<Tool, Sample[]>>;
}

export interface CompareOptions {
  sizes: number[];
  repeat: number;
  /** repetitions of the Ansible runs (at most `repeat`; they take minutes at 100 hosts) */
  ansibleRepeat: number;
  ansible: boolean;
  /** progress lines */
  log: (line: string) => void;
}

/** Where a tool's run went wrong: the benchmark stops rather than time a failure. */
class BenchFailure extends Error {}

const ADDED_NODE = '127.0.3.77';
const range = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];

export async function compare(
  cfg: LabConfig,
  options: CompareOptions,
): Promise<{
  fleetUpSeconds: number;
  results: SizeResult[];
}> {
  const largest = Math.max(...options.sizes);
  options.log(`lab: ${largest} appliances at ${cfg.prefix}.N`);
  const fleet = await fleetUp(cfg, largest);
  options.log(`lab up in ${fleet.seconds.toFixed(1)} s`);
  try {
    const ansible = options.ansible ? ansibleProject(cfg, fleet.state) : undefined;
    const results: SizeResult[] = [];
    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      results.push(await measureSize(cfg, fleet.state, ansible, size, options));
    }
    return { fleetUpSeconds: fleet.seconds, results };
  } finally {
    await fleetDown(cfg);
  }
}

async function measureSize(
  cfg: LabConfig,
  state: LabState,
  ansible: AnsibleProject | undefined,
  size: number,
  options: CompareOptions,
): Promise<SizeResult> {
  const names = state.appliances.slice(0, size).map((a) => a.name);
  const client = clientFiles(cfg);
  const inSync = benchInventory(cfg, `bench-${size}`, { size });
  const added = benchInventory(cfg, `bench-${size}-add`, { size, addNode: ADDED_NODE });
  const hosts = ansible?.inventory(size);
  const samples: SizeResult['samples'] = {};

  const measure = async (
    tool: Tool,
    run: () => Timed | Promise<Timed>,
    check: (t: Timed) => string | undefined,
  ) => {
    const before = acceptedLogins(cfg, names);
    const timed = await run();
    const after = acceptedLogins(cfg, names);
    const problem = check(timed);
    if (problem) {
      throw new BenchFailure(
        `${tool} on ${size} appliances: ${problem}\n${timed.stderr.trim().split('\n').slice(-5).join('\n')}`,
      );
    }
    const connections = range(after.map((n, i) => n - (before[i] ?? 0)));
    const execs = tool.startsWith('rpctl') ? range(perHost(timed.stdout).execs) : null;
    const sample: Sample = {
      seconds: timed.seconds,
      peakRssMb: Number.isNaN(timed.peakRssMb) ? null : timed.peakRssMb,
      cpuSeconds: Number.isNaN(timed.cpuSeconds) ? null : timed.cpuSeconds,
      connectionsPerHost: connections,
      execsPerHost: execs,
    };
    samples[tool] = [...(samples[tool] ?? []), sample];
    options.log(
      `  ${size.toString().padStart(3)} ${tool.padEnd(15)} ${timed.seconds.toFixed(2).padStart(7)} s  control CPU ${Number.isNaN(timed.cpuSeconds) ? '—' : `${timed.cpuSeconds.toFixed(2)} s`}  conn/host ${connections.join('-')}`,
    );
    if (tool === 'ansible check' || tool === 'ansible apply' || tool === 'ansible revert')
      closeMasters(ansible!);
    return timed;
  };

  const rpctlJson = (args: string[]) => () => timeRpctl(cfg, [...args, '--format', 'json']);
  const statusesAre = (expected: string, codes: number[]) => (t: Timed) => {
    if (!codes.includes(t.code)) return `exit ${t.code}`;
    const { statuses } = perHost(t.stdout);
    return statuses[expected] === size
      ? undefined
      : `expected ${size} hosts ${expected}, got ${JSON.stringify(statuses)}`;
  };
  const playbook = (file: string, extra: string[]) => () =>
    timeCommand(
      ['ansible-playbook', '-i', hosts!, '-f', String(size), file, ...extra],
      { ANSIBLE_NOCOLOR: '1' },
      ansible!.dir,
    );
  // apply.yml changes three things per host: the copy, and the two handlers (nginx -t, reload)
  const recapIs = (changed: number) => (t: Timed) => {
    const recap = parseRecap(t.stdout);
    if (t.code !== 0 || recap.failed > 0 || recap.unreachable > 0)
      return `exit ${t.code}, ${JSON.stringify(recap)}`;
    return recap.changed === changed
      ? undefined
      : `expected ${changed} changed, got ${JSON.stringify(recap)}`;
  };

  // Warm the page cache and sshd's first-connection costs, untimed.
  await timeFloor(targets(state, size), floorOptions(client, size));
  timeRpctl(cfg, ['drift', '-i', inSync, '--format', 'json']);

  for (let rep = 1; rep <= options.repeat; rep++) {
    options.log(` size ${size}, repetition ${rep}/${options.repeat}`);
    await measure(
      'floor',
      () => timeFloor(targets(state, size), floorOptions(client, size)),
      (t) => (t.code === 0 ? undefined : 'ssh failed'),
    );
    await measure('rpctl drift', rpctlJson(['drift', '-i', inSync]), statusesAre('in-sync', [0]));
    const ansibleNow = ansible !== undefined && rep <= options.ansibleRepeat;
    if (ansibleNow) await measure('ansible check', playbook('check.yml', ['--check', '--diff']), recapIs(0));
    await measure('rpctl apply', rpctlJson(['apply', '-i', added, '--yes']), statusesAre('changed', [0]));
    if (ansible && rep === 1) ansible.snapshotChanged(names);
    await measure('rpctl revert', rpctlJson(['apply', '-i', inSync, '--yes']), statusesAre('changed', [0]));
    if (ansibleNow) {
      await measure(
        'ansible apply',
        playbook('apply.yml', ['-e', 'variant=pexapp-changed']),
        recapIs(3 * size),
      );
      await measure('ansible revert', playbook('apply.yml', ['-e', 'variant=pexapp']), recapIs(3 * size));
    }
  }
  return { size, samples };
}

function targets(state: LabState, size: number) {
  return state.appliances.slice(0, size).map((a) => ({ address: a.address, user: 'pexip' }));
}

function floorOptions(client: ReturnType<typeof clientFiles>, size: number) {
  return {
    identityFile: client.identityFile,
    knownHosts: client.knownHosts,
    concurrency: Math.min(size, DEFAULT_CONCURRENCY),
  };
}

export { BenchFailure };
