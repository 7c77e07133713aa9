import { describe, expect, it } from 'vitest';
import { mergeFactSpecs } from '../../../src/engine/facts.js';
import { HostError } from '../../../src/errors.js';
import { sh } from '../../../src/transport/shell.js';
import {
  type ApplianceSpec,
  etcHosts,
  netplan,
  networkInterfaces,
  turnserverConf,
} from '../../../test/lab/files.js';
import { type FakeHost, fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { APPLIANCE_FILES, applianceFactSpec, applianceFacts } from '../facts.js';

const spec = (generation: 'v4' | 'v7'): ApplianceSpec => ({
  name: 'rp1',
  index: 1,
  address: '10.40.1.5',
  generation,
  state: 'installed',
  hostname: 'rp1',
  domain: 'vc.example.com',
  nodes: ['10.40.0.11'],
  turnUser: 'turnuser',
});

const INIT_SCRIPT = '#!/bin/sh\n### BEGIN INIT INFO\n';
const NAMES = 'hostname=rp1\nfqdn=rp1.vc.example.com\n';

function appliance(generation: 'v4' | 'v7', services: string): FakeHost {
  const s = spec(generation);
  return {
    files: {
      '/etc/hostname': 'rp1\n',
      '/etc/hosts': etcHosts(s),
      '/etc/turnserver.conf': turnserverConf(s),
      ...(generation === 'v4'
        ? { '/etc/network/interfaces': networkInterfaces(s), '/etc/init.d/rfc5766-turn-server': INIT_SCRIPT }
        : { '/etc/netplan/01-netcfg.yaml': netplan(s), '/etc/init.d/coturn': INIT_SCRIPT }),
    },
    commands: { 'appliance.names': NAMES, 'appliance.services': services },
  };
}

const V4_SERVICES = 'nginx 0\ncoturn absent\nrfc5766-turn-server 0\n';
const V7_SERVICES = 'nginx 0\ncoturn 3\nrfc5766-turn-server absent\n';

function failure(host: FakeHost): HostError {
  try {
    applianceFacts(fakeFacts(host), 'rp1');
  } catch (err) {
    if (err instanceof HostError) return err;
    throw err;
  }
  throw new Error('expected a HostError');
}

describe('applianceFactSpec', () => {
  it('reads the files that tell generation and identity, and runs read-only commands', () => {
    expect(applianceFactSpec.files?.map((f) => f.path)).toEqual(Object.values(APPLIANCE_FILES));
    const commands = applianceFactSpec.commands?.map((c) => c.command.text).join('\n') ?? '';
    expect(commands).toContain('hostname -f');
    for (const name of ['coturn', 'rfc5766-turn-server'])
      expect(commands).toContain(`service ${name} status`);
    // nginx from its PID file and /proc, as its init script's status reads it, without the script
    expect(commands).not.toContain('service nginx');
    expect(commands).toContain('/run/nginx.pid');
    // `service fail2ban status` starts Python (fail2ban-client ping): never on every run
    expect(commands).not.toContain('fail2ban');
  });

  it('merges with a recipe’s own facts without duplicates', () => {
    const merged = mergeFactSpecs([
      applianceFactSpec,
      { files: [{ path: '/etc/hosts' }, { path: '/etc/x' }] },
    ]);
    expect(merged.files?.filter((f) => f.path === '/etc/hosts')).toHaveLength(1);
    expect(merged.files?.at(-1)?.path).toBe('/etc/x');
    expect(() =>
      mergeFactSpecs([applianceFactSpec, { commands: [{ id: 'appliance.names', command: sh`true` }] }]),
    ).toThrow(/differently/);
  });
});

describe('applianceFacts', () => {
  it('recognizes a v4 appliance: ifupdown and rfc5766-turn-server', () => {
    expect(applianceFacts(fakeFacts(appliance('v4', V4_SERVICES)), 'rp1')).toEqual({
      generation: 'v4',
      hostname: 'rp1',
      domain: 'vc.example.com',
      fqdn: 'rp1.vc.example.com',
      turnService: 'rfc5766-turn-server',
      networkFile: '/etc/network/interfaces',
      turnRealm: 'vc.example.com',
      services: { nginx: 'running', 'rfc5766-turn-server': 'running' },
    });
  });

  it('recognizes a v7 appliance: netplan and coturn', () => {
    expect(applianceFacts(fakeFacts(appliance('v7', V7_SERVICES)), 'rp1')).toMatchObject({
      generation: 'v7',
      turnService: 'coturn',
      networkFile: '/etc/netplan/01-netcfg.yaml',
      services: { nginx: 'running', coturn: 'stopped' },
    });
  });

  it('takes v7 for v7 when /etc/network/interfaces only says ifupdown was replaced by netplan', () => {
    const host = appliance('v7', V7_SERVICES);
    host.files = { ...host.files, '/etc/network/interfaces': '# ifupdown has been replaced by netplan(5)\n' };
    expect(applianceFacts(fakeFacts(host)).generation).toBe('v7');
  });

  it('reports a host with marks of both generations instead of guessing', () => {
    const both = appliance('v4', V4_SERVICES);
    both.files = { ...both.files, '/etc/netplan/01-netcfg.yaml': netplan(spec('v7')) };
    const err = failure(both);
    expect(err.reason).toBe('ambiguous-generation');
    expect(err.message).toMatch(/^rp1: cannot tell the appliance generation/);
    expect(err.message).toContain('/etc/netplan/01-netcfg.yaml (netplan, v7)');

    const { '/etc/init.d/rfc5766-turn-server': _, ...v4Files } = appliance('v4', V4_SERVICES).files ?? {};
    const ifupdownWithCoturn = { files: { ...v4Files, '/etc/init.d/coturn': INIT_SCRIPT } };
    expect(failure(ifupdownWithCoturn).message).toContain(
      '/etc/network/interfaces (ifupdown, v4), coturn (v7)',
    );
  });

  it('reports a host that is not a Pexip RP/TURN appliance at all', () => {
    const plain = { files: { '/etc/hostname': 'web1\n', '/etc/hosts': '127.0.0.1 localhost\n' } };
    const err = failure(plain);
    expect(err.reason).toBe('not-an-appliance');
    expect(err.message).toBe(
      'rp1: does not look like a Pexip RP/TURN appliance: no TURN service (/etc/init.d/coturn or /etc/init.d/rfc5766-turn-server), no network configuration (/etc/network/interfaces or /etc/netplan/01-netcfg.yaml)',
    );
  });

  it('finds the domain in /etc/hosts, else from hostname -f, else has none', () => {
    const host = appliance('v7', V7_SERVICES);
    host.commands = { ...host.commands, 'appliance.names': 'hostname=rp1\nfqdn=\n' };
    expect(applianceFacts(fakeFacts(host)).fqdn).toBe('rp1.vc.example.com');

    host.files = { ...host.files, '/etc/hosts': '127.0.0.1\tlocalhost\n' };
    host.commands = { ...host.commands, 'appliance.names': 'hostname=rp1\nfqdn=rp1.corp.example\n' };
    expect(applianceFacts(fakeFacts(host))).toMatchObject({
      domain: 'corp.example',
      fqdn: 'rp1.corp.example',
    });

    host.commands = { ...host.commands, 'appliance.names': 'hostname=rp1\nfqdn=\n' };
    expect(applianceFacts(fakeFacts(host))).toMatchObject({
      hostname: 'rp1',
      domain: undefined,
      fqdn: 'rp1',
    });
  });

  it('splits an FQDN written into /etc/hostname', () => {
    const host = appliance('v4', V4_SERVICES);
    host.files = { ...host.files, '/etc/hostname': 'rp2.dmz.example\n' };
    expect(applianceFacts(fakeFacts(host))).toMatchObject({ hostname: 'rp2', domain: 'dmz.example' });
  });

  it('fails clearly when the service states were not gathered', () => {
    const host = appliance('v7', V7_SERVICES);
    host.commands = { 'appliance.names': NAMES };
    expect(failure(host).reason).toBe('facts');
  });
});
