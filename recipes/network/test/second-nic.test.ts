/** The second-nic recipe as a pure planner: changes, handlers, idempotence, verification. */
import { describe, expect, it } from 'vitest';
import type { Check, HostFacts } from '../../../src/engine/contract.js';
import { GatheredFacts } from '../../../src/engine/facts.js';
import { planHost } from '../../../src/engine/plan.js';
import { Redactor } from '../../../src/engine/redact.js';
import { InputError } from '../../../src/errors.js';
import type { ApplianceConfig } from '../../../src/inventory/model.js';
import { withSection } from '../../../src/inventory/section.js';
import type { ApplianceSpec } from '../../../test/lab/files.js';
import { etcHosts, netplan, networkInterfaces, turnserverConf } from '../../../test/lab/files.js';
import { type FakeHost, fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { ADDRESSES_FACT, ROUTES_FACT } from '../ip-facts.js';
import { networkInventorySection, networkSection, normalizeNetwork } from '../schema.js';
import { secondNicRecipe } from '../second-nic.js';
import { GUIDE } from './fixtures.js';

const ctx = { host: 'rp1', now: new Date(0) };
const desired = normalizeNetwork(networkSection.parse(GUIDE));

function host(
  generation: 'v4' | 'v7',
  files: Record<string, string> = {},
  commands: Record<string, string> = {},
) {
  const spec: ApplianceSpec = {
    name: 'rp1',
    index: 1,
    address: '127.0.17.1',
    generation,
    state: 'installed',
    hostname: 'rp1',
    domain: 'example.com',
    nodes: [],
    turnUser: 'pexip',
    networked: true,
  };
  const fake: FakeHost = {
    files: {
      '/etc/hostname': 'rp1\n',
      '/etc/hosts': etcHosts(spec),
      '/etc/turnserver.conf': turnserverConf(spec),
      ...(generation === 'v4'
        ? {
            '/etc/network/interfaces': networkInterfaces(spec),
            '/etc/init.d/rfc5766-turn-server': '#!/bin/sh\n',
          }
        : { '/etc/netplan/01-netcfg.yaml': netplan(spec), '/etc/init.d/coturn': '#!/bin/sh\n' }),
      ...files,
    },
    commands: {
      'appliance.names': 'hostname=rp1\nfqdn=rp1.example.com\n',
      'appliance.services': `nginx 0\ncoturn ${generation === 'v7' ? 0 : 'absent'}\nrfc5766-turn-server ${generation === 'v4' ? 0 : 'absent'}\n`,
      ...commands,
    },
  };
  return fakeFacts(fake);
}

/** The facts once the plan's writes are in place, with the NICs and routes `ip` reports. */
function factsAfterApply(
  generation: 'v4' | 'v7',
  before: HostFacts,
  addresses: string,
  routes: string,
): HostFacts {
  const result = secondNicRecipe.plan(desired, before, ctx);
  const files = Object.fromEntries(
    result.changes.flatMap((c) => c.writes ?? []).map((w) => [w.path, w.content.toString()]),
  );
  return host(generation, files, { [ADDRESSES_FACT]: addresses, [ROUTES_FACT]: routes });
}

const ADDRESSES = (internal: string, external: string) =>
  JSON.stringify([
    { ifname: internal, flags: ['UP'], addr_info: [{ family: 'inet', local: '10.40.0.2', prefixlen: 24 }] },
    {
      ifname: external,
      flags: ['UP'],
      addr_info: [{ family: 'inet', local: '198.51.100.130', prefixlen: 25 }],
    },
  ]);
const ROUTES = (internal: string, external: string) =>
  JSON.stringify([
    { dst: 'default', gateway: '198.51.100.129', dev: external },
    { dst: '10.0.50.0/24', gateway: '10.40.0.1', dev: internal },
  ]);
const failing = (checks: Check[]) => checks.filter((c) => c.kind === 'assert' && !c.ok).map((c) => c.message);

describe('second-nic plan', () => {
  it('v4: writes the interfaces file, checked by ifupdown, with a commit-confirmed network restart, then relay-ip and a TURN restart', () => {
    const result = secondNicRecipe.plan(desired, host('v4'), ctx);
    expect(result.changes.map((c) => c.summary)).toEqual([
      'eth0 10.40.0.2/24 (internal, no gateway), eth1 198.51.100.130/25 gateway 198.51.100.129 dns 8.8.8.8 8.8.4.4, route 10.0.50.0/24 via 10.40.0.1 (was eth0 10.40.0.11/24 gateway 10.40.0.1); restart the network, commit-confirmed',
      'relay-ip=198.51.100.130 (was 10.40.0.11), restart rfc5766-turn-server',
    ]);
    const [network, relay] = result.changes;
    expect(network!.writes![0]!.path).toBe('/etc/network/interfaces');
    expect(network!.writes![0]!.content).toMatch(
      /^# >\/etc\/network\/interfaces\n# Written at .* by InterfacesFileWriter\nauto lo eth0 eth1\n/,
    );
    expect(network!.validate!.map((v) => v.text)).toEqual([
      'ifup --no-act --all --force --interfaces /etc/network/interfaces > /dev/null',
    ]);
    expect(network!.notify!.map((h) => [h.id, h.disruptive, h.mayCutSshPath])).toEqual([
      ['network:restart', true, {}],
    ]);
    expect(relay!.writes![0]!.content.toString()).toContain('\nrelay-ip=198.51.100.130\n');
    expect(relay!.notify!.map((h) => h.command.text)).toEqual(['service rfc5766-turn-server restart']);
    // the TURN server still listens on the old internal address: said, not changed
    expect(result.warnings).toEqual([
      '/etc/turnserver.conf listens on 10.40.0.11, which neither NIC will have; TURN will not answer there',
    ]);
  });

  it('v7: writes the netplan file, checked by netplan generate; reconnects over the management address', () => {
    const withManagement = { ...desired, managementAddress: '10.40.0.2' };
    const result = secondNicRecipe.plan(withManagement, host('v7'), ctx);
    const [network] = result.changes;
    expect(network!.writes![0]!.path).toBe('/etc/netplan/01-netcfg.yaml');
    expect(network!.writes![0]!.content).toMatch(
      /^# This file was written by the Pexip RP\/TURN install wizard\nnetwork:\n/,
    );
    expect(network!.validate![0]!.text).toContain('netplan generate');
    expect(network!.notify![0]!.command.text).toContain('netplan apply');
    expect(network!.notify![0]!.mayCutSshPath).toEqual({ reconnectTo: '10.40.0.2' });
    expect(result.changes[1]!.notify!.map((h) => h.command.text)).toEqual(['service coturn restart']);
  });

  it('changes nothing once the files are as planned', () => {
    for (const generation of ['v4', 'v7'] as const) {
      const done = factsAfterApply(generation, host(generation), '[]', '[]');
      expect(secondNicRecipe.plan(desired, done, ctx).changes).toEqual([]);
    }
  });

  it('is deferred whole without --allow-disruptive, and with it the run is commit-confirmed', () => {
    const fake = host('v4');
    const paths = [
      '/etc/hostname',
      '/etc/hosts',
      '/etc/turnserver.conf',
      '/etc/network/interfaces',
      '/etc/init.d/rfc5766-turn-server',
    ];
    const ids = ['appliance.names', 'appliance.services'];
    const facts = new GatheredFacts(
      new Map(paths.map((p) => [p, fake.file(p)])),
      new Map(ids.map((id) => [id, fake.command(id)!])),
    );
    const selected = [{ recipe: secondNicRecipe, desired }];
    const options = { now: new Date(0), redactor: new Redactor() };
    const deferred = planHost('rp1', selected, facts, { ...options, allowDisruptive: false });
    expect(deferred.changes.map((c) => c.deferred)).toEqual([true, true]);
    expect([deferred.writes, deferred.handlers, deferred.commitConfirmed]).toEqual([[], [], undefined]);
    const allowed = planHost('rp1', selected, facts, { ...options, allowDisruptive: true });
    expect(allowed.handlers.map((h) => h.id)).toEqual(['network:restart', 'turn:restart']);
    expect(allowed.commitConfirmed).toEqual({});
  });

  it('never shows a secret of turnserver.conf the inventory does not know in the relay-ip diff', () => {
    const secret = 'Sh4red-TURN-secret-not-in-inventory';
    const base = host('v4').text('/etc/turnserver.conf')!;
    const conf = base.replace(
      /^relay-ip=.*$/m,
      (line) => `static-auth-secret=${secret}\n${line}\nuser=bob:${secret}`,
    );
    const fake = host('v4', { '/etc/turnserver.conf': conf });
    const paths = ['/etc/hostname', '/etc/hosts', '/etc/turnserver.conf', '/etc/network/interfaces'];
    const ids = ['appliance.names', 'appliance.services'];
    const facts = new GatheredFacts(
      new Map([...paths, '/etc/init.d/rfc5766-turn-server'].map((p) => [p, fake.file(p)])),
      new Map(ids.map((id) => [id, fake.command(id)!])),
    );
    const plan = planHost('rp1', [{ recipe: secondNicRecipe, desired }], facts, {
      now: new Date(0),
      redactor: new Redactor(),
      allowDisruptive: true,
    });
    const diff = plan.changes.find((c) => c.summary.startsWith('relay-ip='))!.diff;
    expect(diff).toContain('+relay-ip=198.51.100.130');
    expect(diff).toContain(' static-auth-secret=[REDACTED]');
    expect(diff).toContain(' user=[REDACTED]');
    expect(diff).not.toContain(secret);
    // the file written is the real one, secret and all
    expect(
      plan.writes.find((w) => w.write.path === '/etc/turnserver.conf')!.write.content.toString(),
    ).toContain(secret);
  });

  it('refuses an invalid section before any host is contacted, and a host without turnserver.conf', () => {
    expect(() =>
      withSection({ name: 'rp1', sections: {} } as unknown as ApplianceConfig, networkInventorySection, {
        ...GUIDE,
        external: { ...GUIDE.external, gateway: '10.40.0.1' },
      }),
    ).toThrow(
      new InputError(
        'rp1: network.external.gateway: the gateway 10.40.0.1 must be another address of the external network 198.51.100.128/25',
      ),
    );
    const noTurn = host('v4', { '/etc/turnserver.conf': undefined as never });
    expect(() => secondNicRecipe.plan(desired, noTurn, ctx)).toThrow(
      /relay-ip cannot follow the external NIC/,
    );
  });
});

describe('second-nic verify', () => {
  it('passes when the NICs, the only default route, the static routes and relay-ip are as desired', () => {
    for (const [generation, int, ext] of [
      ['v4', 'eth0', 'eth1'],
      ['v7', 'nic0', 'nic1'],
    ] as const) {
      const facts = factsAfterApply(generation, host(generation), ADDRESSES(int, ext), ROUTES(int, ext));
      expect(failing(secondNicRecipe.verify!(desired, facts, ctx))).toEqual([]);
    }
  });

  it('names what the host really has when it differs', () => {
    const addresses = JSON.stringify([
      { ifname: 'eth0', flags: ['UP'], addr_info: [{ family: 'inet', local: '10.40.0.11', prefixlen: 24 }] },
      { ifname: 'eth1', flags: ['BROADCAST'], addr_info: [] },
    ]);
    const routes = JSON.stringify([{ dst: 'default', gateway: '10.40.0.1', dev: 'eth0' }]);
    const facts = factsAfterApply('v4', host('v4'), addresses, routes);
    expect(failing(secondNicRecipe.verify!(desired, facts, ctx))).toEqual([
      'eth0 is up with exactly 10.40.0.2/24 (has 10.40.0.11/24)',
      'eth1 is up with exactly 198.51.100.130/25 (has no IPv4 address, down)',
      'the only default route is via 198.51.100.129 on eth1 (has via 10.40.0.1 on eth0)',
      'route 10.0.50.0/24 via 10.40.0.1 (has none)',
    ]);
  });

  it('after a rollback: the NICs have their previous addresses and default route again', () => {
    const before = host(
      'v4',
      {},
      { [ADDRESSES_FACT]: ADDRESSES('eth0', 'eth1'), [ROUTES_FACT]: ROUTES('eth0', 'eth1') },
    );
    const same = host(
      'v4',
      {},
      { [ADDRESSES_FACT]: ADDRESSES('eth0', 'eth1'), [ROUTES_FACT]: ROUTES('eth0', 'eth1') },
    );
    expect(failing(secondNicRecipe.verifyRestored!(desired, before, same, ctx))).toEqual([]);
    const other = host('v4', {}, { [ADDRESSES_FACT]: '[]', [ROUTES_FACT]: '[]' });
    expect(failing(secondNicRecipe.verifyRestored!(desired, before, other, ctx))).toEqual([
      'eth0 has its previous addresses again: 10.40.0.2/24 (now none)',
      'eth1 has its previous addresses again: 198.51.100.130/25 (now none)',
      'the default route is the previous one again: via 198.51.100.129 on eth1 (now none)',
    ]);
  });
});
