import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandModules } from '../../../src/cli/commands/index.js';
import { bufferIo } from '../../../src/cli/io.js';
import { type CommandContext, run } from '../../../src/cli/program.js';
import { HostError, InputError } from '../../../src/errors.js';

const registry = { recipes: [], sections: [] };

/** Run with one extra command whose action does whatever the test needs. */
async function runWith(action: (ctx: CommandContext) => Promise<void> | void, argv = ['probe']) {
  const probe = {
    register(program: Command, ctx: CommandContext) {
      program.command('probe').action(() => action(ctx));
    },
  };
  commandModules.push(probe);
  try {
    const buffers = bufferIo();
    const code = await run(argv, buffers.io, registry);
    return { code, stdout: buffers.stdout(), stderr: buffers.stderr() };
  } finally {
    commandModules.pop();
  }
}

describe('rpctl exit codes', () => {
  it('exits 0 for --help and prints the exit codes and examples', async () => {
    const { code, stdout } = await runWith(() => {}, ['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Exit codes: 0 ok');
    expect(stdout).toContain('Examples:');
  });

  it('exits 3 for an unknown option or command, with commander’s one-line reason', async () => {
    const unknown = await runWith(() => {}, ['--bogus']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    expect((await runWith(() => {}, ['nonsense'])).code).toBe(3);
  });

  it('turns typed errors into their exit codes with one line and no stack trace', async () => {
    const input = await runWith(() => {
      throw new InputError('inventory x.yaml:3:5: appliances.rp1.host: not an address');
    });
    expect(input.code).toBe(3);
    expect(input.stderr).toBe('rpctl: inventory x.yaml:3:5: appliances.rp1.host: not an address\n');
    const host = await runWith(() => {
      throw new HostError('unreachable', 'rp1: cannot connect');
    });
    expect(host.code).toBe(1);
  });

  it('reports an unexpected error as an internal error, exit 1, without a stack trace', async () => {
    const result = await runWith(() => {
      throw new TypeError('boom');
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('rpctl: internal error: boom\n');
  });

  it('lets 1 (a host failed) win over 2 (changes pending), and 2 over 0', async () => {
    const report = (codes: (0 | 1 | 2)[]) => (ctx: CommandContext) => {
      for (const code of codes) ctx.exitWith(code);
    };
    expect((await runWith(report([2, 1, 0]))).code).toBe(1);
    expect((await runWith(report([0, 2, 0]))).code).toBe(2);
  });
});
