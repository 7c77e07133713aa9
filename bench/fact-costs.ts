/**
 * `npm run bench:facts [-- --runs N --host lab-1]`: what each fact command costs on a lab
 * appliance, CPU and wall time per run, measured inside the appliance (no SSH in the figures).
 * Every fact any recipe declares is measured (what `rpctl facts` reads; a drift reads those of the
 * recipes it manages), then the whole facts script those commands make, as one exec runs it.
 * Needs a lab: `npm run lab -- up --count 2`.
 *
 *   fact                   read          wall ms  CPU ms
 *   appliance.services     plan/drift       9.1     7.0
 *   upstreams.nginx-T      after change    13.4    12.5
 *
 * CPU is the user+system time of the processes the command started (the shell's `times`), over
 * N runs in a loop; wall is the loop's duration over N.
 */
import { Command, InvalidArgumentError } from 'commander';
import { concerns } from '../recipes/index.js';
import { registryOf } from '../src/cli/registry.js';
import { factsBody, type MergedFactSpec, mergeFactSpecs } from '../src/engine/facts.js';
import { sh } from '../src/transport/shell.js';
import { labExec, readState } from '../test/lab/lab.js';

export interface Cost {
  wallMs: number;
  cpuMs: number;
}

// `times` prints the shell's then its children's user and system time, as 0m0.123s.
const LOOP = `t0=$(date +%s%N); i=0; while [ $i -lt "$2" ]; do eval "$1" > /dev/null 2>&1 < /dev/null; i=$((i + 1)); done; t1=$(date +%s%N); echo "wall $(((t1 - t0) / 1000))"; times`;

const seconds = (text: string) => {
  const m = /^(\d+)m([\d.]+)s$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
};

/** Run `command` `runs` times inside the appliance; its mean cost per run. */
export function costOf(host: string, command: string, runs: number): Cost {
  const result = labExec(host, ['/bin/sh', '-c', LOOP, 'cost', command, String(runs)]);
  const wall = /^wall (\d+)$/m.exec(result.stdout)?.[1];
  const children = result.stdout.trim().split('\n').at(-1)?.split(/\s+/).map(seconds) ?? [];
  if (result.status !== 0 || wall === undefined || children.length !== 2)
    throw new Error(`${host}: cannot time \`${command}\`: ${result.stderr || result.stdout}`);
  return { wallMs: Number(wall) / 1000 / runs, cpuMs: ((children[0]! + children[1]!) * 1000) / runs };
}

/** Every fact command a recipe declares, and the spec they make together. */
export function allFacts(): MergedFactSpec {
  const registry = registryOf(concerns);
  return mergeFactSpecs([registry.baseFacts, ...registry.recipes.map((r) => r.facts)]);
}

const fixed = (n: number) => n.toFixed(1).padStart(7);

function main(argv: string[]): void {
  const opts = new Command('bench:facts')
    .option(
      '--runs <n>',
      'runs per command',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
        return n;
      },
      20,
    )
    .option('--host <name>', 'the lab appliance to measure on (default: the first)')
    .parse(argv)
    .opts<{ runs: number; host?: string }>();
  const host = opts.host ?? readState()?.appliances[0]?.name;
  if (!host) throw new Error('no lab is up: npm run lab -- up --count 2');
  const spec = allFacts();
  console.log(`fact costs on ${host}, mean of ${opts.runs} runs (inside the appliance, no SSH)\n`);
  console.log(`${'fact'.padEnd(22)} ${'read'.padEnd(13)} wall ms  CPU ms`);
  for (const { id, command, afterChange } of spec.commands) {
    const cost = costOf(host, command.text, opts.runs);
    console.log(
      `${id.padEnd(22)} ${(afterChange ? 'after change' : 'plan/drift').padEnd(13)}${fixed(cost.wallMs)} ${fixed(cost.cpuMs)}`,
    );
  }
  for (const [label, afterChange] of [
    ['facts script (drift)', false],
    ['facts script (after apply)', true],
  ] as const) {
    const body = factsBody(spec, { afterChange }).text;
    const cost = costOf(host, sh`sh -c ${body}`.text, opts.runs);
    console.log(`${label.padEnd(36)}${fixed(cost.wallMs)} ${fixed(cost.cpuMs)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv);
