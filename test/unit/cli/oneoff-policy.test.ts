/**
 * The one policy of one-off commands (src/cli/one-off.ts), checked over every spec: --limit before
 * anything else, where --save writes (and when it refuses), what --help says and shows.
 *
 * The inventories' appliances sit on a closed port of TEST-NET (any contact would be exit 1, not
 * 3) and their sudo password is a file that does not exist (reading secrets would fail otherwise).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certCommands } from '../../../recipes/certificate/commands.js';
import { fail2banCommands } from '../../../recipes/fail2ban/commands.js';
import { install } from '../../../recipes/install/commands.js';
import { nicCommands } from '../../../recipes/network/commands.js';
import { turnCommands } from '../../../recipes/turn/commands.js';
import { upstreamCommands } from '../../../recipes/upstreams/commands.js';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import type { AnyOneOffCommand } from '../../../src/engine/one-off.js';
import { registry } from '../../registry.js';
import { tempDir, yaml } from '../support/helpers.js';

const SPECS: AnyOneOffCommand[] = [
  ...upstreamCommands,
  ...certCommands,
  ...turnCommands,
  ...fail2banCommands,
  ...nicCommands,
  install,
];
const changing = SPECS.filter((s) => s.kind === 'change' || (s.kind === 'custom' && s.changes));

async function rpctl(argv: string[], options: { tty?: boolean; answers?: string[] } = {}) {
  const buffers = bufferIo({ ...options, env: { NO_COLOR: '1', HOME: '/nonexistent' } });
  const code = await run(argv, buffers.io, registry);
  return { code, stdout: buffers.stdout(), stderr: buffers.stderr() };
}

const INVENTORY = yaml`
  defaults:
    ssh: { port: 9, connectTimeout: 1 }
    sudo: { password: file:/nonexistent/sudo-password }
    upstreams:
      nodes: [10.40.0.11, 10.40.0.12]
  groups:
    proxies: {}
    pair:
      vars:
        upstreams:
          nodes: [10.40.0.21, 10.40.0.22]
  appliances:
    rp1: { host: 192.0.2.1, groups: [proxies] }
    rp2: { host: 192.0.2.2, groups: [proxies] }
    rp3: { host: 192.0.2.3, groups: [pair] }
    rp4: { host: 192.0.2.4, groups: [pair] }
    rp5:
      host: 192.0.2.5
      upstreams:
        nodes: [10.40.0.51]
`;

function inventoryFile(text = INVENTORY): string {
  const file = join(tempDir(), 'inv.yaml');
  writeFileSync(file, text);
  return file;
}

/** The argument a spec cannot do without (commander refuses the line before the action otherwise). */
const requiredArgs = (spec: AnyOneOffCommand) =>
  (spec.arguments ?? []).filter((a) => a.required).map(() => '10.40.0.13');

describe('--limit: required by every one-off that changes appliances', () => {
  it.each(changing.map((s) => [s.path.join(' '), s] as const))(
    '%s without --limit: exit 3, nothing read or contacted',
    async (words, spec) => {
      const result = await rpctl([...spec.path, '-i', inventoryFile(), ...requiredArgs(spec), '--yes']);
      expect(result).toEqual({
        code: 3,
        stdout: '',
        stderr: `rpctl: ${words}: --limit is required: name the appliances to change (names, groups, globs; '*' for all)\n`,
      });
    },
  );

  it('read-only ones go without it (they would contact the closed port: exit 1, not 3)', async () => {
    const readOnly = SPECS.filter((s) => !changing.includes(s));
    expect(readOnly.map((s) => s.path.join(' '))).toEqual([
      'upstream list',
      'cert status',
      'fail2ban status',
    ]);
    const inv = inventoryFile(
      INVENTORY.replace('file:/nonexistent/sudo-password', 'env:RPCTL_NO_SUCH_VARIABLE'),
    );
    const result = await rpctl(['fail2ban', 'status', '-i', inv, '--limit', 'rp1']);
    expect(result.stderr).toContain('RPCTL_NO_SUCH_VARIABLE'); // it went on to read the secrets
  });
});

describe('--help of every one-off', () => {
  it.each(SPECS.map((s) => [s.path.join(' '), s] as const))(
    '%s: exit codes 0-3, examples, only flags that apply',
    async (_words, spec) => {
      const { code, stdout } = await rpctl([...spec.path, '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(/\nExit codes:\n {2}0 {2}\S.*\n {2}1 {2}\S.*\n {2}2 {2}\S.*\n {2}3 {2}\S.*\n/);
      expect(stdout).toContain(`Examples:\n  rpctl ${spec.path.join(' ')} `);
      for (const flag of ['--format <format>', '--output <file>', '--limit <patterns>'])
        expect(stdout).toContain(flag);
      const changes = changing.includes(spec);
      expect(stdout.includes('--yes'), '--yes').toBe(changes);
      expect(stdout.includes('--limit is required'), 'says --limit is required').toBe(changes);
      expect(stdout.includes('--save'), '--save').toBe(spec.kind === 'change' && spec.save !== undefined);
      const disruptive = spec.kind === 'change' && Boolean(spec.disruptive);
      expect(stdout.includes('--allow-disruptive'), '--allow-disruptive').toBe(disruptive);
      const confirmed = spec.kind === 'change' && Boolean(spec.commitConfirmed);
      expect(stdout.includes('--confirm-timeout'), '--confirm-timeout').toBe(confirmed);
      if (spec.kind === 'change') expect(stdout).toMatch(/\n {2}2 {2}.*declined/);
    },
  );
});

describe('one wording for a bad flag value', () => {
  it.each([
    [['--serial', 'x'], '--serial: expected N or N% (1..100%), got "x"'],
    [['--concurrency', '0'], '--concurrency: expected a whole number from 1 to 100000, got "0"'],
    [['--format', 'yaml'], '--format: expected one of text, json, got "yaml"'],
    [['--gateway', 'gw'], '--gateway: expected an IPv4 address, got "gw"'],
  ])('%j', async (flags, message) => {
    const result = await rpctl(['nic', 'setup', '-i', inventoryFile(), '--limit', 'rp1', '--yes', ...flags]);
    expect(result).toMatchObject({ code: 3, stderr: `rpctl: ${message}\n` });
  });
});

describe('--save through the CLI', () => {
  it('upstream add --save refuses before contacting anything, and the inventory is left as it was', async () => {
    const inv = inventoryFile();
    for (const [limit, reason] of [
      ['rp3', 'declared in group pair, which also gives it to rp4 (not in --limit)'],
      ['rp1', 'declared in defaults, which also gives it to rp2 (not in --limit)'],
    ] as const) {
      const result = await rpctl([
        'upstream',
        'add',
        '-i',
        inv,
        '--limit',
        limit,
        '10.40.0.13',
        '--yes',
        '--save',
      ]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(reason);
      expect(result.stderr).not.toContain('sudo-password'); // refused before the secrets were read
    }
    expect(readFileSync(inv, 'utf8')).toBe(INVENTORY);
  });

  it('upstream add --save needs a declared list to add to', async () => {
    const inv = inventoryFile(
      INVENTORY.replace(/ {2}upstreams:\n {4}nodes: \[10\.40\.0\.11, 10\.40\.0\.12\]\n/, ''),
    );
    const result = await rpctl([
      'upstream',
      'add',
      '-i',
      inv,
      '--limit',
      'rp1',
      '10.40.0.13',
      '--yes',
      '--save',
    ]);
    expect(result).toMatchObject({
      code: 3,
      stderr: expect.stringContaining('rp1 has no upstreams.nodes in the inventory'),
    });
  });
});
