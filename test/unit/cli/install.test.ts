/**
 * `rpctl install`: input checked before any appliance is contacted (exit 3, one line naming the
 * appliance and what is wrong), and the report's exit codes.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InstallOutcome } from '../../../src/cli/install-host.js';
import { installExitCode, renderInstall } from '../../../src/cli/install-report.js';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import { registry } from '../../registry.js';
import { tempDir } from '../support/helpers.js';

/** An appliance nobody answers for (port 9 of TEST-NET-1): contact fails as exit 1, never 3. */
function inventory(
  options: {
    newPassword?: string;
    sudoPassword?: string;
    install?: boolean;
    initialIsNew?: boolean;
    /** permissive TURN with this shared secret instead of turn.credentials */
    sharedSecret?: string;
  } = {},
) {
  const dir = tempDir();
  writeFileSync(join(dir, 'new'), `${options.newPassword ?? 'Pexip-New-1'}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'sudo'), `${options.sudoPassword ?? options.newPassword ?? 'Pexip-New-1'}\n`, {
    mode: 0o600,
  });
  writeFileSync(join(dir, 'turn'), 'Turn-Secret-1\n', { mode: 0o600 });
  if (options.sharedSecret !== undefined)
    writeFileSync(join(dir, 'shared'), options.sharedSecret, { mode: 0o600 });
  const lines = [
    'defaults:',
    '  sudo: { password: file:sudo }',
    '  domain: example.com',
    'appliances:',
    '  rp1:',
    '    host: 192.0.2.1',
    '    hostname: proxy',
    '    ssh: { port: 9, connectTimeout: 1, knownHosts: known_hosts }',
    '    upstreams: { nodes: [10.40.0.10] }',
    ...(options.sharedSecret === undefined
      ? ['    turn: { credentials: { username: pexip, password: file:turn } }']
      : []),
  ];
  if (options.install ?? true)
    lines.push(
      '    install:',
      '      newPassword: file:new',
      ...(options.initialIsNew ? ['      initialPassword: file:sudo'] : []),
      '      network: { address: 198.51.100.130/24, gateway: 198.51.100.129 }',
      '      managementNetworks: [10.0.50.0/24]',
      ...(options.sharedSecret === undefined
        ? []
        : ['      turn: { mode: permissive, sharedSecret: file:shared }']),
    );
  writeFileSync(join(dir, 'inv.yaml'), `${lines.join('\n')}\n`);
  return { inv: join(dir, 'inv.yaml'), dir };
}

async function rpctl(argv: string[], env: Record<string, string> = {}) {
  const buffers = bufferIo({ env: { NO_COLOR: '1', HOME: '/nonexistent', ...env } });
  const code = await run(argv, buffers.io, registry);
  return { code, stdout: buffers.stdout(), stderr: buffers.stderr() };
}

describe('rpctl install: bad input is exit 3, nothing contacted', () => {
  const cases: [string, Parameters<typeof inventory>[0], string[], string][] = [
    [
      'no --limit',
      {},
      [],
      "rpctl: install: --limit is required: name the appliances to change (names, groups, globs; '*' for all)\n",
    ],
    [
      'a new password the appliance would refuse',
      { newPassword: 'short1A' },
      ['--limit', 'rp1'],
      "rpctl: rp1: the new password (file:DIR/new) does not meet the appliance's policy: it has fewer than 8 characters\n",
    ],
    [
      'the initial password as the new one',
      { initialIsNew: true },
      ['--limit', 'rp1'],
      'rpctl: rp1: the new password (file:DIR/new) is the initial password\n',
    ],
    [
      'a sudo password that will be wrong after the install',
      { sudoPassword: 'Other-Pass-9' },
      ['--limit', 'rp1'],
      'rpctl: rp1: sudo.password (file:DIR/sudo) differs from the new password (file:DIR/new); after the install they must be the same\n',
    ],
    [
      'a TURN shared secret with a control character (it is typed on the wizard terminal)',
      { sharedSecret: 'abc\x03def\n' },
      ['--limit', 'rp1'],
      'rpctl: rp1: install.turn.sharedSecret (file:DIR/shared): the shared secret must not contain control characters or newlines\n',
    ],
    [
      'no install section',
      { install: false },
      ['--limit', 'rp1'],
      'rpctl: rp1: no install section: rpctl install needs install.network and install.managementNetworks\n',
    ],
    [
      '--rerun without a terminal or --yes',
      {},
      ['--limit', 'rp1', '--rerun'],
      'rpctl: install --rerun reboots the appliances and asks first; there is no terminal: pass --yes\n',
    ],
  ];
  it.each(cases)('%s', async (_what, options, args, message) => {
    const { inv, dir } = inventory(options);
    const result = await rpctl(['install', '-i', inv, ...args], { RPCTL_STATE_DIR: join(dir, 'state') });
    expect(result).toEqual({ code: 3, stdout: '', stderr: message.replaceAll('DIR', dir) });
    expect(existsSync(join(dir, 'state'))).toBe(false); // no transcript: nothing was started
  });

  it('a valid inventory goes on to contact the appliance: unreachable is exit 1 with a transcript', async () => {
    const { inv, dir } = inventory();
    const result = await rpctl(['install', '-i', inv, '--limit', 'rp1'], {
      RPCTL_STATE_DIR: join(dir, 'state'),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^rp1 +FAILED after [\d.]+ s: rp1: cannot connect to 192.0.2.1:9/);
    expect(result.stdout).toContain('state: nothing was changed');
    const transcript = /transcript: (\S+)/.exec(result.stdout)![1]!;
    expect(readFileSync(transcript, 'utf8')).toBe('');
  });
});

describe('the install report', () => {
  const outcome = (o: Partial<InstallOutcome>): InstallOutcome => ({
    name: 'rp1',
    status: 'installed',
    passwordChanged: true,
    answered: [],
    transcript: '/state/install/run-rp1.log',
    durationMs: 12_300,
    ...o,
  });
  const plan = (changes: number) =>
    ({
      status: changes ? 'drift' : 'in-sync',
      changes: Array.from({ length: changes }, () => ({
        recipe: 'certificate',
        summary: 'replace pexip.pem',
        disruptive: false,
      })),
      pending: [],
    }) as never;

  it('exit 0 in sync, 2 when the plan has changes the wizard does not make, 1 when one failed', () => {
    expect(installExitCode([outcome({ plan: plan(0) })])).toBe(0);
    expect(installExitCode([outcome({ plan: plan(0) }), outcome({ name: 'rp2', plan: plan(1) })])).toBe(2);
    expect(installExitCode([outcome({ plan: plan(1) }), outcome({ status: 'failed' })])).toBe(1);
    const text = renderInstall([outcome({ plan: plan(1) })]);
    expect(text).toMatch(
      /plan: 1 change the wizard does not make \(run rpctl apply\):\n +certificate: replace pexip.pem\n/,
    );
  });
});
