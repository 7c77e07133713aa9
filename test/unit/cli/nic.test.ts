/**
 * `rpctl nic setup`: bad input ends the run with exit 3 and one line before any host is contacted
 * (the inventory's appliance is at a port nothing listens on: any contact would fail with exit 1).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import { registry } from '../../registry.js';
import { tempDir } from '../support/helpers.js';

async function rpctl(argv: string[]) {
  const buffers = bufferIo({ env: { NO_COLOR: '1', HOME: '/nonexistent' } });
  const code = await run(argv, buffers.io, registry);
  return { code, stdout: buffers.stdout(), stderr: buffers.stderr() };
}

function inventory(networkLines: string[] = []): string {
  const file = join(tempDir(), 'inv.yaml');
  const lines = ['appliances:', '  rp1:', '    host: 192.0.2.1', '    ssh: { port: 9, connectTimeout: 1 }'];
  writeFileSync(file, `${[...lines, ...networkLines.map((l) => `    ${l}`)].join('\n')}\n`);
  return file;
}

const FULL = [
  '--internal',
  '10.40.0.2/24',
  '--external',
  '198.51.100.130/25',
  '--gateway',
  '198.51.100.129',
  '--dns',
  '8.8.8.8',
];

describe('rpctl nic setup: bad input is exit 3 with one line, nothing contacted', () => {
  it('a flag that is not its kind of value', async () => {
    const inv = inventory();
    const cases: [string[], string][] = [
      [
        ['--internal', '10.40.0.2'],
        '--internal: expected ADDRESS/PREFIX or ADDRESS/NETMASK, e.g. 10.40.0.2/24, got "10.40.0.2"',
      ],
      [['--gateway', 'gw.example.com'], '--gateway: expected an IPv4 address, got "gw.example.com"'],
      [['--dns', '8.8.8.8,dns1'], '--dns: expected IP addresses, comma-separated, got "8.8.8.8,dns1"'],
      [
        ['--route', '10.0.50.0/24'],
        '--route: expected NET/MASK:GATEWAY, e.g. 10.0.50.0/24:10.40.0.1, got "10.0.50.0/24"',
      ],
      [['--confirm-timeout', '5'], '--confirm-timeout: expected a whole number from 10 to 3600, got "5"'],
    ];
    for (const [flags, message] of cases) {
      const result = await rpctl(['nic', 'setup', '-i', inv, '--limit', 'rp1', '--yes', ...FULL, ...flags]);
      expect(result).toEqual({ code: 3, stdout: '', stderr: `rpctl: ${message}\n` });
    }
  });

  it('fields missing from both the flags and the inventory', async () => {
    const result = await rpctl([
      'nic',
      'setup',
      '-i',
      inventory(),
      '--limit',
      'rp1',
      '--yes',
      '--internal',
      '10.40.0.2/24',
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      'rpctl: rp1: no external NIC: pass --external ADDR/MASK; no gateway: pass --gateway GW; no DNS servers: pass --dns A,B (or set them under network: in the inventory)\n',
    );
  });

  it('flags that do not fit the inventory they complete', async () => {
    const inv = inventory([
      'network:',
      '  internal: { address: 10.40.0.2, netmask: 255.255.255.0 }',
      '  external: { address: 198.51.100.130, netmask: 255.255.255.128, gateway: 198.51.100.129, dns: [8.8.8.8] }',
    ]);
    const result = await rpctl([
      'nic',
      'setup',
      '-i',
      inv,
      '--limit',
      'rp1',
      '--yes',
      '--route',
      '10.0.50.0/24:172.16.0.1',
    ]);
    expect(result).toEqual({
      code: 3,
      stdout: '',
      stderr:
        'rpctl: rp1: network.routes.0.via: the gateway 172.16.0.1 must be another address of the internal network 10.40.0.0/24 or the external network 198.51.100.128/25\n',
    });
  });

  it('--help shows the flags, the exit codes and examples', async () => {
    const help = await rpctl(['nic', 'setup', '--help']);
    expect(help.code).toBe(0);
    for (const text of [
      '--internal <addr/mask>',
      '--route <net/mask:gw>',
      '--confirm-timeout <seconds>',
      'Exit codes:',
      'Examples:',
    ])
      expect(help.stdout).toContain(text);
  });
});

describe('a bad network section: exit 3 naming the file, line, column and field, nothing contacted', () => {
  const nics = (internal: string, extra: string[] = []) => [
    'network:',
    `  internal: ${internal}`,
    '  external: { address: 198.51.100.130, netmask: 255.255.255.128, gateway: 198.51.100.129, dns: [8.8.8.8] }',
    ...extra,
  ];
  const cases: [string[], string][] = [
    [
      nics('{ address: 10.40.0.300, netmask: 255.255.255.0 }'),
      ':6:28: appliances.rp1.network.internal.address: "10.40.0.300" is not an IPv4 address (a.b.c.d)',
    ],
    [
      nics('{ address: 10.40.0.2, netmask: 255.0.255.0 }'),
      ':6:48: appliances.rp1.network.internal.netmask: "255.0.255.0" is not a netmask (a contiguous dotted quad such as 255.255.255.0)',
    ],
    [
      nics('{ address: 10.40.0.2, netmask: 255.255.255.0 }', [
        '  routes: [{ to: 10.0.50.0/33, via: 10.40.0.1 }]',
      ]),
      ':8:22: appliances.rp1.network.routes.0.to: "10.0.50.0/33" is not a network (address/prefix or address/netmask, e.g. 10.40.0.2/24)',
    ],
    [
      nics('{ address: 10.40.0.2, netmask: 255.255.255.0 }', [
        '  routes:',
        '    - to: 10.0.50.0/24',
        '      via: 10.50.0.1',
      ]),
      ':10:16: appliances.rp1.network.routes.0.via: the gateway 10.50.0.1 must be another address of the internal network 10.40.0.0/24 or the external network 198.51.100.128/25',
    ],
  ];
  it('in apply, plan and nic setup alike', async () => {
    for (const [lines, where] of cases) {
      const inv = inventory(lines);
      for (const argv of [
        ['apply', '-i', inv, '--yes', '--allow-disruptive'],
        ['plan', '-i', inv],
        ['nic', 'setup', '-i', inv, '--limit', 'rp1', '--yes', '--allow-disruptive'],
      ]) {
        const result = await rpctl(argv);
        // the message, then the source line with a caret under the column
        expect(result).toMatchObject({ code: 3, stdout: '' });
        expect(result.stderr.split('\n').slice(0, 1)).toEqual([`rpctl: ${inv}${where}`]);
        expect(result.stderr).toMatch(/^rpctl: [^\n]+\n +\d+ \| [^\n]+\n +\| +\^\n$/);
      }
    }
  });
});
