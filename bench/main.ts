/**
 * `npm run bench -- <what> [--count N]`: benchmarks on a lab fleet of real appliances.
 *
 *   npm run bench -- apply --count 50    one-node upstream change on every appliance, and its revert
 *   npm run bench -- drift --count 50    a drift check of an in-sync fleet
 */
import { Command, InvalidArgumentError } from 'commander';
import { benchApply, benchDrift } from './apply.js';

const count = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 250) throw new InvalidArgumentError('1..250');
  return n;
};

const program = new Command('bench').description(
  'rpctl benchmarks on a lab fleet (real sshd, sudo, nginx, coturn)',
);
program
  .command('apply')
  .description('apply a one-node upstream change to every appliance, then revert it')
  .option('--count <n>', 'appliances', count, 50)
  .action(async (opts: { count: number }) => {
    await benchApply(opts.count);
  });

program
  .command('drift')
  .description('check an in-sync fleet for drift')
  .option('--count <n>', 'appliances', count, 50)
  .action(async (opts: { count: number }) => {
    await benchDrift(opts.count);
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
