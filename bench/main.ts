/**
 * `npm run bench [-- --count N --repeat R]`: rpctl against the plain-ssh floor, Ansible, Ansible
 * with Mitogen and pyinfra on a lab fleet of real appliances (sshd, sudo, nginx, coturn,
 * fail2ban), at three fleet sizes, and optionally behind a WAN relay.
 *
 *   npm run bench                              100 appliances, sizes 10/50/100, median of 5
 *   npm run bench -- --count 6 --repeat 1      a quick look
 *   npm run bench -- --no-ansible --no-mitogen rpctl and the floor only
 *   npm run bench -- --pyinfra /srv/pyinfra    pyinfra too, from that checkout (see README)
 *   npm run bench -- --repeat 3 --peer-repeat 1   peers once (minutes per run at 100 hosts)
 *   npm run bench -- --rtt 40                  also the middle size at 40 ms round-trip time
 *
 * Prints a table, writes bench/results/latest.json and bench/results/latest.svg.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ansibleVersion, mitogenVersion } from './ansible.js';
import { BenchFailure, compare } from './compare.js';
import { benchLabConfig } from './fleet.js';
import { pyinfraVersion } from './pyinfra.js';
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

interface Options {
  from?: string;
  count: number;
  repeat: number;
  peerRepeat?: number;
  ansible: boolean;
  mitogen: boolean;
  pyinfra?: string;
  rtt?: number;
  out: string;
}

/** The peers' versions; a peer asked for but missing stops the bench before the fleet comes up. */
function peerVersions(opts: Options): { ansible?: string; mitogen?: string; pyinfra?: string } {
  const versions: { ansible?: string; mitogen?: string; pyinfra?: string } = {};
  if (opts.ansible || opts.mitogen) {
    versions.ansible = ansibleVersion();
    if (!versions.ansible)
      throw new BenchFailure(
        "ansible-playbook not found: run bench/install-peers.sh (Debian's ansible-core and ansible-mitogen) or pass --no-ansible --no-mitogen",
      );
  }
  if (opts.mitogen) {
    versions.mitogen = mitogenVersion();
    if (!versions.mitogen)
      throw new BenchFailure(
        'the Mitogen strategy is not installed: run bench/install-peers.sh, or pass --no-mitogen',
      );
  }
  if (opts.pyinfra) {
    const found = pyinfraVersion(opts.pyinfra);
    if ('problem' in found) throw new BenchFailure(`${found.problem} (see README, Performance)`);
    versions.pyinfra = found.version;
  }
  return versions;
}

const program = new Command('bench')
  .description('rpctl against the OpenSSH floor, Ansible, Ansible+Mitogen and pyinfra on a lab fleet')
  .option('--count <n>', 'largest fleet (sizes measured: N/10, N/2, N)', integer(1, 250), 100)
  .option('--repeat <r>', 'repetitions per tool and size (the median counts)', integer(1, 50), 5)
  .option('--peer-repeat <r>', "repetitions of the peers' runs (default: --repeat)", integer(1, 50))
  .option('--no-ansible', 'skip plain Ansible')
  .option('--no-mitogen', 'skip Ansible with the Mitogen strategy')
  .option('--pyinfra <checkout>', 'also run pyinfra from this checkout (see README, Performance)')
  .option(
    '--rtt <ms>',
    'also measure the middle size with every appliance behind a relay at this round-trip time',
    integer(0, 2000),
  )
  .option('--out <dir>', 'where results go', 'bench/results')
  .option('--from <json>', 'measure nothing: print the table and redraw the chart of an earlier run')
  .action(async (opts: Options) => {
    if (opts.from) {
      const earlier = JSON.parse(readFileSync(opts.from, 'utf8')) as BenchReport;
      earlier.targets = judgeTargets(earlier.sizes); // targets as judged today
      writeFileSync(join(opts.out, 'latest.svg'), renderSvg(earlier));
      console.log(`${renderTable(earlier)}\n\nmachine: ${describeMachine(earlier)}`);
      return;
    }
    const versions = peerVersions(opts);
    const cfg = benchLabConfig();
    const sizes = fleetSizes(opts.count);
    const started = Date.now();
    const peerRepeat = Math.min(opts.peerRepeat ?? opts.repeat, opts.repeat);
    const { results, fleetUpSeconds } = await compare(cfg, {
      sizes,
      repeat: opts.repeat,
      peerRepeat,
      ansible: opts.ansible,
      mitogen: opts.mitogen,
      ...(opts.pyinfra ? { pyinfra: opts.pyinfra } : {}),
      ...(opts.rtt !== undefined ? { rttMs: opts.rtt } : {}),
      log: (line) => console.log(line),
    });
    const openssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim();
    const report = buildReport({
      results,
      repeat: opts.repeat,
      peerRepeat,
      fleetUpSeconds,
      versions,
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
  });

program.parseAsync().catch((err: unknown) => {
  console.error(
    err instanceof BenchFailure || err instanceof InvalidArgumentError ? `bench: ${err.message}` : err,
  );
  process.exitCode = 1;
});
