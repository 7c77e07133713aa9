/**
 * `npm run bench [-- --count N --repeat R]`: rpctl against the plain-ssh floor and Ansible on a lab
 * fleet of real appliances (sshd, sudo, nginx, coturn, fail2ban), at three fleet sizes.
 *
 *   npm run bench                              100 appliances, sizes 10/50/100, median of 5
 *   npm run bench -- --count 20 --repeat 1     a quick look
 *   npm run bench -- --no-ansible              rpctl and the floor only
 *   npm run bench -- --repeat 3 --ansible-repeat 1   Ansible once (minutes per run at 100 hosts)
 *
 * Prints a table, writes bench/results/latest.json and bench/results/latest.svg.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ansibleVersion } from './ansible.js';
import { BenchFailure, compare } from './compare.js';
import { benchLabConfig } from './fleet.js';
import {
  type BenchReport,
  buildReport,
  describeMachine,
  judgeTargets,
  renderSvg,
  renderTable,
} from './report.js';

const integer = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`an integer ${min}..${max}`);
  return n;
};

/** The growth curve: 10, 50 and 100 for the default fleet, scaled down for a smaller one. */
function fleetSizes(count: number): number[] {
  return [...new Set([Math.max(1, Math.round(count / 10)), Math.max(1, Math.round(count / 2)), count])];
}

const program = new Command('bench')
  .description('rpctl against the OpenSSH floor and Ansible on a lab fleet of real appliances')
  .option('--count <n>', 'largest fleet (sizes measured: N/10, N/2, N)', integer(1, 250), 100)
  .option('--repeat <r>', 'repetitions per tool and size (the median counts)', integer(1, 50), 5)
  .option('--ansible-repeat <r>', 'repetitions of the Ansible runs (default: --repeat)', integer(1, 50))
  .option('--no-ansible', 'skip Ansible (rpctl and the floor only)')
  .option('--out <dir>', 'where results go', 'bench/results')
  .option('--from <json>', 'measure nothing: print the table and redraw the chart of an earlier run')
  .action(
    async (opts: {
      from?: string;
      count: number;
      repeat: number;
      ansibleRepeat?: number;
      ansible: boolean;
      out: string;
    }) => {
      if (opts.from) {
        const earlier = JSON.parse(readFileSync(opts.from, 'utf8')) as BenchReport;
        earlier.targets = judgeTargets(earlier.sizes); // targets as judged today
        writeFileSync(join(opts.out, 'latest.svg'), renderSvg(earlier));
        console.log(`${renderTable(earlier)}\n\nmachine: ${describeMachine(earlier)}`);
        return;
      }
      const ansible = opts.ansible ? ansibleVersion() : undefined;
      if (opts.ansible && !ansible) {
        throw new BenchFailure(
          "ansible-playbook not found: install Debian's ansible-core (apt-get install ansible-core) or pass --no-ansible",
        );
      }
      const cfg = benchLabConfig();
      const sizes = fleetSizes(opts.count);
      const started = Date.now();
      const { results, fleetUpSeconds } = await compare(cfg, {
        sizes,
        repeat: opts.repeat,
        ansibleRepeat: Math.min(opts.ansibleRepeat ?? opts.repeat, opts.repeat),
        ansible: opts.ansible,
        log: (line) => console.log(line),
      });
      const openssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim();
      const report = buildReport({
        results,
        repeat: opts.repeat,
        ansibleRepeat: Math.min(opts.ansibleRepeat ?? opts.repeat, opts.repeat),
        fleetUpSeconds,
        ansible,
        openssh,
      });
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(join(opts.out, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(join(opts.out, 'latest.svg'), renderSvg(report));
      console.log(`\n${renderTable(report)}\n`);
      console.log(`machine: ${describeMachine(report)}`);
      console.log(
        `benchmark took ${((Date.now() - started) / 60000).toFixed(1)} min; results in ${opts.out}/latest.{json,svg}`,
      );
    },
  );

program.parseAsync().catch((err: unknown) => {
  console.error(
    err instanceof BenchFailure || err instanceof InvalidArgumentError ? `bench: ${err.message}` : err,
  );
  process.exitCode = 1;
});
