/**
 * `rpctl turn credentials|external-ip`: input checks that end the run with exit 3 before any
 * inventory is read or host contacted (the lab test shows the appliances saw no connection).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import { registry } from '../../registry.js';
import { tempDir } from '../support/helpers.js';

async function rpctl(argv: string[], options: { tty?: boolean; answers?: string[]; cwd?: string } = {}) {
  const buffers = bufferIo({ ...options, env: { NO_COLOR: '1', HOME: '/nonexistent' } });
  const code = await run(argv, buffers.io, registry);
  return { code, stdout: buffers.stdout(), stderr: buffers.stderr() };
}

/** An inventory whose appliance cannot be reached (port 9 of TEST-NET): any contact would fail. */
function inventory(turnLines: string[] = []): string {
  const dir = tempDir();
  const file = join(dir, 'inv.yaml');
  writeFileSync(join(dir, 'pw'), 'New-Pass-1\n', { mode: 0o600 });
  const lines = ['appliances:', '  rp1:', '    host: 192.0.2.1', '    ssh: { port: 9, connectTimeout: 1 }'];
  writeFileSync(file, `${[...lines, ...turnLines.map((l) => `    ${l}`)].join('\n')}\n`);
  return file;
}

describe('rpctl turn: bad input is exit 3 with one line, nothing contacted', () => {
  it('external-ip that is not an address, both or neither of IP and --unset', async () => {
    const inv = inventory();
    const bad = await rpctl(['turn', 'external-ip', '-i', inv, '--limit', 'rp1', '--yes', '1.2.3']);
    expect(bad).toMatchObject({ code: 3, stdout: '' });
    expect(bad.stderr).toBe('rpctl: turn external-ip: "1.2.3" is not an IPv4 or IPv6 address\n');
    expect((await rpctl(['turn', 'external-ip', '-i', inv, '--limit', 'rp1', '--yes'])).stderr).toMatch(
      /or --unset\n$/,
    );
    expect(
      (await rpctl(['turn', 'external-ip', '-i', inv, '--limit', 'rp1', '--yes', '--unset', '203.0.113.5']))
        .code,
    ).toBe(3);
  });

  it('an empty username, or one with ":"', async () => {
    const inv = inventory();
    const empty = await rpctl([
      'turn',
      'credentials',
      '-i',
      inv,
      '--limit',
      'rp1',
      '--yes',
      '--username',
      '',
      '--password-file',
      'pw',
    ]);
    expect(empty).toMatchObject({
      code: 3,
      stderr: 'rpctl: --username: the TURN username must not be empty\n',
    });
    const colon = await rpctl([
      'turn',
      'credentials',
      '-i',
      inv,
      '--limit',
      'rp1',
      '--yes',
      '--username',
      'a:b',
      '--password-file',
      'pw',
    ]);
    expect(colon.code).toBe(3);
    expect(colon.stderr).toMatch(/^rpctl: --username: "a:b": a TURN username must not contain ":"/);
  });

  it('has no --password flag, and without a terminal needs a file or an environment variable', async () => {
    const inv = inventory();
    const flag = await rpctl([
      'turn',
      'credentials',
      '-i',
      inv,
      '--limit',
      'rp1',
      '--yes',
      '--username',
      'pexip',
      '--password',
      'x',
    ]);
    expect(flag.code).toBe(3);
    expect(flag.stderr).toContain("unknown option '--password'");
    const none = await rpctl([
      'turn',
      'credentials',
      '-i',
      inv,
      '--limit',
      'rp1',
      '--yes',
      '--username',
      'pexip',
    ]);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/--password-file FILE or --password-env NAME/);
  });

  it('asks twice at a terminal and stops when the two differ; --save refuses a typed password', async () => {
    const inv = inventory();
    const argv = ['turn', 'credentials', '-i', inv, '--limit', 'rp1', '--yes', '--username', 'pexip'];
    const differ = await rpctl(argv, { tty: true, answers: ['one-Pass-1', 'other-Pass-1'] });
    expect(differ).toMatchObject({
      code: 3,
      stderr: 'rpctl: the two TURN passwords typed differ; nothing was changed\n',
    });
    expect((await rpctl([...argv, '--save'], { tty: true, answers: ['a', 'a'] })).stderr).toMatch(
      /--save writes a reference/,
    );
  });

  it('an inventory turn section with bad values names the file, line and column', async () => {
    const inv = inventory([
      'turn:',
      '  externalIp: not-an-ip',
      '  credentials: { username: "a:b", password: file:pw }',
    ]);
    const result = await rpctl(['plan', '-i', inv]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      'inv.yaml:6:19: appliances.rp1.turn.externalIp: "not-an-ip" is not an IPv4 or IPv6 address',
    );
    const all = await rpctl(['inventory', 'validate', '-i', inv]);
    expect(all.stderr).toMatch(
      /inv\.yaml:7:\d+: appliances\.rp1\.turn\.credentials\.username: "a:b": .* must not contain ":"/,
    );
  });

  it('documents the flags with examples', async () => {
    const help = await rpctl(['turn', 'external-ip', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--allow-disruptive');
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('exit 2');
  });
});
