/** What install answers, from the inventory, checked before any contact (recipes/install/answers.ts). */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { sections } from '../../../test/registry.js';
import {
  netmaskToPrefix,
  networkOf,
  passwordPolicyProblem,
  prefixToNetmask,
  wizardAnswers,
} from '../answers.js';
import { installSection } from '../schema.js';
import { applianceToInstall, GUIDE_INSTALL } from './fixtures.js';

describe('address arithmetic', () => {
  it('netmasks, prefixes and networks', () => {
    expect(prefixToNetmask(24)).toBe('255.255.255.0');
    expect(prefixToNetmask(0)).toBe('0.0.0.0');
    expect(prefixToNetmask(32)).toBe('255.255.255.255');
    expect(netmaskToPrefix('255.255.240.0')).toBe(20);
    expect(networkOf('10.0.50.7', '255.255.255.0')).toBe('10.0.50.0/24');
    expect(networkOf('198.51.100.130', '255.255.0.0')).toBe('198.51.0.0/16');
    expect(networkOf('127.0.18.1', '255.0.0.0')).toBe('127.0.0.0/8');
  });
});

describe("passwordPolicyProblem: the appliance's policy, checked locally", () => {
  it('needs 8 characters and 3 of 4 classes', () => {
    expect(passwordPolicyProblem('Pexip-New-1')).toBeUndefined();
    expect(passwordPolicyProblem('pexipnew1')).toBe(
      'it has 2 of the 4 character classes (lower, upper, digit, special), 3 are needed',
    );
    expect(passwordPolicyProblem('Ab1-')).toBe('it has fewer than 8 characters');
    expect(passwordPolicyProblem('Abcdefg-')).toBeUndefined();
  });

  it('refuses control characters: typed on a terminal, they would edit the line or signal the program', () => {
    for (const bad of ['Pexip-New-1\n', 'Pexip\x03New-1', 'Pexip\x15New-1', 'Pexip-New-1\x7f'])
      expect(passwordPolicyProblem(bad)).toBe('it contains a line break or another control character');
  });
});

describe('the install section', () => {
  it('SNMP texts are one line without control characters (they are typed on the wizard terminal)', () => {
    const parse = (location: string) =>
      installSection.safeParse({ ...GUIDE_INSTALL, snmp: { location } }).error?.issues[0]?.message;
    expect(parse('DC1, row 4')).toBeUndefined();
    for (const bad of ['DC1\nrow 4', 'DC1\x03', 'DC1\x1b[A', 'DC1\trow'])
      expect(parse(bad)).toBe('one line without control characters');
  });
});

describe('wizardAnswers', () => {
  it("answers the guide's example from install, upstreams, turn and the core settings", () => {
    const answers = wizardAnswers(applianceToInstall({ fail2ban: { enabled: true } }));
    expect(answers).toMatchObject({
      network: {
        kind: 'single',
        address: '198.51.100.130',
        netmask: '255.255.0.0',
        gateway: '198.51.100.129',
      },
      dns: ['10.44.0.9'],
      hostname: 'proxy',
      domain: 'example.com',
      web: { nodes: ['10.40.0.10', '10.40.0.11'] },
      turn: { mode: 'restricted', username: 'pexip', password: { kind: 'file', path: '/secrets/turn' } },
      managementNetworks: [{ answer: '10.0.50.0/24', network: '10.0.50.0/24' }],
      fail2ban: true,
      regenerate: { ssl: false, ssh: false },
      loginPassword: { kind: 'file', path: '/secrets/pexip' },
    });
    expect(answers.ntp).toBeUndefined(); // not managed: the wizard's default
  });

  it('normalises CIDR forms: address/prefix, management networks with host bits, {address, netmask}', () => {
    const answers = wizardAnswers(
      applianceToInstall({
        install: {
          ...GUIDE_INSTALL,
          network: { address: '198.51.100.130/25', gateway: '198.51.100.129' },
          managementNetworks: ['10.0.50.7/24', { address: '10.0.60.0', netmask: '255.255.255.0' }],
        },
      }),
    );
    expect(answers.network).toMatchObject({ netmask: '255.255.255.128' });
    expect(answers.managementNetworks).toEqual([
      { answer: '10.0.50.7/24', network: '10.0.50.0/24' },
      { answer: '10.0.60.0', netmask: '255.255.255.0', network: '10.0.60.0/24' },
    ]);
  });

  it('permissive TURN with a shared secret; no TURN when neither credentials nor a secret are set', () => {
    const permissive = wizardAnswers(
      applianceToInstall({
        turn: {},
        install: { ...GUIDE_INSTALL, turn: { mode: 'permissive', sharedSecret: 'env:TURN_SECRET' } },
      }),
    );
    expect(permissive.turn).toEqual({
      mode: 'permissive',
      sharedSecret: { kind: 'env', name: 'TURN_SECRET' },
    });
    expect(wizardAnswers(applianceToInstall({ turn: {} })).turn).toBe(false);
  });

  const refused: [string, Parameters<typeof applianceToInstall>, RegExp][] = [
    [
      'no install section',
      [{}, { sections: {} }],
      /rp1: no install section: rpctl install needs install.network/,
    ],
    ['no domain', [{}, { domain: undefined }], /the wizard needs the appliance's hostname and domain/],
    [
      'no new password',
      [{}, { sudo: {} }],
      /no new password for pexip: set install.newPassword or sudo.password/,
    ],
    [
      'a host name as a signaling node',
      [{ upstreams: { nodes: ['conf1.example.com'] } }],
      /upstreams.nodes\[0\] conf1.example.com:443: the install wizard takes IPv4 addresses on port 443 only/,
    ],
    [
      'a netmask that disagrees',
      [
        {
          install: {
            ...GUIDE_INSTALL,
            network: { address: '10.0.0.5/24', netmask: '255.255.0.0', gateway: '10.0.0.1' },
          },
        },
      ],
      /address 10.0.0.5\/24 and netmask 255.255.0.0 disagree/,
    ],
    [
      'no netmask at all',
      [{ install: { ...GUIDE_INSTALL, network: { address: '10.0.0.5', gateway: '10.0.0.1' } } }],
      /needs netmask, or the address with its prefix/,
    ],
    [
      'a route via a router outside the internal network',
      [
        {
          install: {
            ...GUIDE_INSTALL,
            network: {
              internal: {
                nic: 'nic0',
                address: '10.44.0.5/16',
                routes: [{ to: '10.0.0.0/8', via: '10.45.0.1' }],
              },
              external: { nic: 'nic1', address: '198.51.100.130/24', gateway: '198.51.100.129' },
            },
          },
        },
      ],
      /routes\[0\]: via 10.45.0.1 is not in 10.44.0.0\/16/,
    ],
    [
      'one NIC as both',
      [
        {
          install: {
            ...GUIDE_INSTALL,
            network: {
              internal: { nic: 'nic0', address: '10.44.0.5/16' },
              external: { nic: 'nic0', address: '198.51.100.130/24', gateway: '198.51.100.129' },
            },
          },
        },
      ],
      /internal and external use the same NIC nic0/,
    ],
    [
      'permissive without a secret',
      [{ turn: {}, install: { ...GUIDE_INSTALL, turn: { mode: 'permissive' } } }],
      /needs install.turn.sharedSecret/,
    ],
    [
      'permissive with credentials',
      [{ install: { ...GUIDE_INSTALL, turn: { mode: 'permissive', sharedSecret: 'env:S' } } }],
      /remove turn.credentials/,
    ],
    [
      'a realm other than the domain',
      [{ turn: { credentials: { username: 'pexip', password: 'env:P', realm: 'other.example' } } }],
      /realm other.example differs from the domain example.com/,
    ],
    [
      'port 443 with the reverse proxy',
      [{ install: { ...GUIDE_INSTALL, turn: { port443: true } } }],
      /port443 needs the web reverse proxy off/,
    ],
    ['no reverse proxy and no TURN', [{ upstreams: undefined, turn: {} }], /the wizard always runs TURN/],
  ];
  it.each(refused)('refuses %s with one line naming the appliance and field', (_what, args, message) => {
    expect(() => wizardAnswers(applianceToInstall(...args))).toThrow(message);
  });
});

describe('inventories/example.yaml', () => {
  it('answers the wizard for every appliance: one NIC on the proxies, two and TURN on 443 on turn1', async () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const { io } = bufferIo({ cwd: repo, env: { HOME: '/home/ops' } });
    const inventory = await loadInventory(join('inventories', 'example.yaml'), { sections, io });
    const answers = new Map(inventory.appliances.map((a) => [a.name, wizardAnswers(a)]));
    expect(answers.get('rp1')).toMatchObject({
      network: { kind: 'single', address: '192.0.2.11', netmask: '255.255.255.0' },
      web: { nodes: ['10.40.0.10', '10.40.0.11', '10.40.0.12'], csp: true },
      fail2ban: true,
      loginPassword: { kind: 'env', name: 'RP_PROXY_SUDO_PASSWORD' },
    });
    expect(answers.get('rp2')).toMatchObject({ fail2ban: false });
    expect(answers.get('turn1')).toMatchObject({
      network: { kind: 'dual', internal: { routes: [{ to: '10.0.0.0/8', via: '192.0.2.1' }] } },
      web: false,
      turn: { mode: 'restricted', port443: true, mediaNodes: ['10.40.0.10', '10.40.0.11'] },
    });
  });
});
