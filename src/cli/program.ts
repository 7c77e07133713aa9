/**
 * The rpctl command line: builds the commander program, runs it in-process and turns every
 * outcome into an exit code (docs/architecture.md). Commands live in src/cli/commands/, one
 * file per command group; each registers itself through `register(program, ctx)`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ExitCode, oneLine, RpctlError } from '../errors.js';
import { commandModules } from './commands/index.js';
import type { Io } from './io.js';
import type { Registry } from './registry.js';

export type { Registry } from './registry.js';

export interface CommandContext {
  io: Io;
  registry: Registry;
  /** the exit code the run ends with (the highest-priority one set wins, see `exitWith`) */
  exitWith(code: ExitCode): void;
  /** 0; 1 with -v/--verbose (error detail, each host's SSH settings); 2 with -vv (SSH protocol debug) */
  verbosity: number;
}

const VERBOSE_HELP = "print the detail behind errors and each host's SSH settings; -vv adds SSH debug lines";
const moreVerbose = (_value: string, previous: number) => previous + 1;

/** -v, -vv, --verbose (repeatable) as written anywhere on the command line. */
function verbosityOf(argv: readonly string[]): number {
  let level = 0;
  for (const arg of argv) {
    if (arg === '--') break;
    if (arg === '--verbose') level++;
    else if (/^-v+$/.test(arg)) level += arg.length - 1;
  }
  return level;
}

export interface CommandModule {
  register(program: Command, ctx: CommandContext): void;
}

const STATE_DIR_HELP =
  'where run records and drift history are kept; share one between a timer and the operators (default: $RPCTL_STATE_DIR, else ~/.local/state/rpctl)';

/** The version in rpctl's package.json: two levels up from src/cli/, three from dist/src/cli/. */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8'));
      if (manifest.name === 'rpctl') return String(manifest.version);
    } catch {
      // not this level
    }
  }
  return 'unknown';
}

// 1 (a host failed) wins over 2 (changes pending), which wins over 0; 3 ends the run at once;
// 130/143 (apply stopped by a signal) win over every outcome of the hosts.
const PRIORITY: Record<number, number> = { 0: 0, 2: 1, 1: 2, 3: 3, 130: 4, 143: 4 };

export async function run(argv: readonly string[], io: Io, registry: Registry): Promise<number> {
  let exitCode: ExitCode = ExitCode.ok;
  const ctx: CommandContext = {
    io,
    registry,
    exitWith(code) {
      if ((PRIORITY[code] ?? 0) > (PRIORITY[exitCode] ?? 0)) exitCode = code;
    },
    verbosity: verbosityOf(argv),
  };
  const program = new Command('rpctl')
    .description('Keep a fleet of Pexip Reverse Proxy / TURN appliances in a declared state over SSH.')
    .version(packageVersion(), '-V, --version')
    .option('-v, --verbose', VERBOSE_HELP, moreVerbose, 0)
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    // subcommands own the options written after them (drift and drift history both have --format)
    .enablePositionalOptions();
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok / in sync, 1 a host failed, was unreachable or its apply's outcome is unknown,
2 changes pending (plan, drift) or deferred (apply), 3 invalid input (nothing was contacted or
changed).

Examples:
  rpctl inventory validate -i inventories/prod.yaml
  rpctl plan -i inventories/prod.yaml --limit 'dc1,!rp-test*'
  rpctl apply -i inventories/prod.yaml --serial 1 --yes
  rpctl drift -i inventories/prod.yaml --format prometheus --output /var/lib/node_exporter/rpctl.prom`,
  );
  for (const module of commandModules) module.register(program, ctx);
  // Commander applies exitOverride per command; subcommands need it too.
  const override = (cmd: Command) => {
    cmd.exitOverride();
    if (!cmd.options.some((o) => o.long === '--verbose'))
      cmd.option('-v, --verbose', VERBOSE_HELP, moreVerbose, 0);
    if (!cmd.options.some((o) => o.long === '--state-dir')) cmd.option('--state-dir <dir>', STATE_DIR_HELP);
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    cmd.commands.forEach(override);
  };
  program.commands.forEach(override);
  // --state-dir wins over $RPCTL_STATE_DIR for everything the run records (history.ts, records.ts)
  program.hook('preAction', (_program, action) => {
    const dir = action.optsWithGlobals().stateDir as string | undefined;
    if (dir) io.env.RPCTL_STATE_DIR = resolve(io.cwd, dir);
  });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return ExitCode.ok;
      }
      return ExitCode.invalid; // usage errors: commander has already printed the reason
    }
    if (err instanceof RpctlError) {
      io.stderr.write(`rpctl: ${err.message}\n`);
      if (err.excerpt) io.stderr.write(`${err.excerpt}\n`);
      if (err.detail && ctx.verbosity > 0) io.stderr.write(`${err.detail}\n`);
      return err.exitCode;
    }
    io.stderr.write(`rpctl: internal error: ${oneLine(err)}\n`);
    if (io.env.RPCTL_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return ExitCode.failed;
  }
}
