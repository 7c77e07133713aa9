/**
 * `npm run lab -- <command>`: drive the appliance lab by hand.
 *
 *   npm run lab -- up --count 3 --generation mixed
 *   npm run lab -- status
 *   npm run lab -- exec lab-2 -- service nginx reload
 *   npm run lab -- reset lab-2
 *   npm run lab -- acme up     # Pebble + dnsmasq on PREFIX.253 for the lab's names
 *   npm run lab -- down
 */
import { Command, InvalidArgumentError } from 'commander';
import { acmeLab, startAcme, stopAcme } from './acme.js';
import { down, labConfig, labExec, readState, reset, status, up } from './lab.js';

const program = new Command('lab')
  .description('Real Pexip RP/TURN appliances (sshd, sudo, nginx, coturn, fail2ban) in Linux namespaces')
  .showHelpAfterError();

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
};

program
  .command('up')
  .description(
    'start lab-1 … lab-N at PREFIX.1 … PREFIX.N (default 127.0.2.N) and write inventories/lab.yaml',
  )
  .option('--count <n>', 'number of appliances', positiveInt, 3)
  .option('--generation <g>', 'v4, v7 or mixed (odd v4, even v7)', 'mixed')
  .option(
    '--state <s>',
    'installed (after the wizard) or fresh (password expired, wizard pending)',
    'installed',
  )
  .option(
    '--networked <names>',
    'comma-separated appliances that get a network namespace of their own with real NICs (e.g. lab-1,lab-2)',
  )
  .action(async (opts: { count: number; generation: string; state: string; networked?: string }) => {
    if (!['v4', 'v7', 'mixed'].includes(opts.generation))
      throw new InvalidArgumentError('--generation: v4, v7 or mixed');
    if (!['installed', 'fresh'].includes(opts.state))
      throw new InvalidArgumentError('--state: installed or fresh');
    const started = Date.now();
    const state = await up({
      count: opts.count,
      generation: opts.generation as 'v4' | 'v7' | 'mixed',
      state: opts.state as 'installed' | 'fresh',
      networked: opts.networked?.split(',').filter(Boolean),
    });
    const cfg = labConfig();
    for (const a of state.appliances)
      console.log(`${a.name}\t${a.address}\t${a.generation}\t${a.state}${a.networked ? '\tnetworked' : ''}`);
    console.log(
      `lab: ${state.appliances.length} appliances up in ${((Date.now() - started) / 1000).toFixed(1)} s; inventory ${cfg.inventoryPath}`,
    );
  });

program
  .command('status')
  .description('list the appliances and whether each is running')
  .action(() => {
    const rows = status();
    if (rows.length === 0) console.log('lab: no lab is up');
    for (const r of rows)
      console.log(
        `${r.name}\t${r.address}\t${r.generation}\t${r.state}\t${r.running ? 'running' : 'STOPPED'}`,
      );
    if (rows.some((r) => !r.running)) process.exitCode = 1;
  });

program
  .command('exec')
  .description('run CMD as root inside an appliance')
  .argument('<name>', 'appliance, e.g. lab-1')
  .argument('<cmd...>', 'command and arguments (put them after --)')
  .action((name: string, cmd: string[]) => {
    const result = labExec(name, cmd);
    process.stdout.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    process.exitCode = result.status ?? 1;
  });

program
  .command('reset')
  .description('rebuild appliances from scratch (same addresses, host keys and certificate)')
  .argument('<names...>')
  .option('--state <s>', 'rebuild as installed or fresh (default: as it was)')
  .option('--networked', 'rebuild with a network namespace of its own and real NICs')
  .option('--no-networked', 'rebuild sharing the host network namespace (the default flavour)')
  .action(async (names: string[], opts: { state?: string; networked?: boolean }) => {
    if (opts.state && !['installed', 'fresh'].includes(opts.state))
      throw new InvalidArgumentError('--state: installed or fresh');
    await reset(names, {
      state: opts.state as 'installed' | 'fresh' | undefined,
      networked: opts.networked,
    });
    console.log(`lab: reset ${names.join(', ')}`);
  });

const acme = program
  .command('acme')
  .description("the lab's ACME server: Pebble and the dnsmasq it asks, on PREFIX.253 only");
acme
  .command('up')
  .description("(re)start them; the appliances' hostname.domain resolve to their addresses")
  .action(async () => {
    const state = readState();
    if (!state) throw new Error('lab: no lab is up');
    const lab = await startAcme(state.appliances);
    console.log(`lab: ACME directory ${lab.directoryUrl} (listener certificate ${lab.listenerCaFile})`);
  });
acme
  .command('down')
  .description('stop them (`down` stops them too)')
  .action(() => {
    stopAcme();
    console.log(`lab: ACME server at ${acmeLab().address} stopped`);
  });

program
  .command('down')
  .description('stop every appliance; leaves no process, mount or namespace behind')
  .action(async () => {
    await down();
    console.log('lab: down');
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
