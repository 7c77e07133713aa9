/** The second NIC's pure parts: IPv4 arithmetic, the section's checks, the two file formats, ip facts. */
import { describe, expect, it } from 'vitest';
import { parseRouteFlag } from '../commands.js';
import {
  describeInterfaces,
  droppedByRewrite,
  headerOf,
  parseInterfaces,
  renderInterfaces,
} from '../interfaces-file.js';
import { parseAddresses, parseRoutes } from '../ip-facts.js';
import { broadcastOf, netmaskOf, networkOf, parsePrefixed, prefixOf } from '../ipv4.js';
import { describeNetplan, parseNetplan, renderNetplan } from '../netplan-file.js';
import { type NetworkDesired, networkProblems, networkSection, normalizeNetwork } from '../schema.js';
import { GUIDE } from './fixtures.js';

const desired: NetworkDesired = normalizeNetwork(networkSection.parse(GUIDE));
const HEADER = '# >/etc/network/interfaces\n# Written at 2014-04-23 10:30:34 UTC by InterfacesFileWriter\n';

describe('IPv4 arithmetic', () => {
  it('converts netmasks and prefixes both ways, and finds networks and broadcasts', () => {
    expect([0, 8, 24, 25, 31, 32].map(netmaskOf)).toEqual([
      '0.0.0.0',
      '255.0.0.0',
      '255.255.255.0',
      '255.255.255.128',
      '255.255.255.254',
      '255.255.255.255',
    ]);
    expect(['0.0.0.0', '255.255.255.128', '255.255.255.255'].map(prefixOf)).toEqual([0, 25, 32]);
    expect(networkOf('198.51.100.130', 25)).toBe('198.51.100.128');
    expect(broadcastOf('198.51.100.130', 25)).toBe('198.51.100.255');
  });

  it('reads address/prefix and address/netmask, and says why anything else is not one', () => {
    expect(parsePrefixed('10.40.0.2/24', 'x')).toEqual({ address: '10.40.0.2', prefix: 24 });
    expect(parsePrefixed('10.40.0.2/255.255.255.0', 'x')).toEqual({ address: '10.40.0.2', prefix: 24 });
    for (const bad of ['10.40.0.2', '10.40.0.2/33', '10.40.0.2/255.0.255.0', '10.40.0/24', 'a/b/c'])
      expect(parsePrefixed(bad, 'a network')).toEqual({
        problem: `${JSON.stringify(bad)} is not a network (address/prefix or address/netmask, e.g. 10.40.0.2/24)`,
      });
  });

  it('reads --route NET/MASK:GW', () => {
    expect(parseRouteFlag('10.0.50.0/24:10.40.0.1')).toEqual({ to: '10.0.50.0/24', via: '10.40.0.1' });
    expect(parseRouteFlag('10.0.50.0/255.255.255.0:10.40.0.1')).toEqual({
      to: '10.0.50.0/24',
      via: '10.40.0.1',
    });
    expect(() => parseRouteFlag('10.0.50.0/24')).toThrow(
      '--route: expected NET/MASK:GATEWAY, e.g. 10.0.50.0/24:10.40.0.1, got "10.0.50.0/24"',
    );
    expect(() => parseRouteFlag('10.0.50.0/24:gw')).toThrow(
      '--route: expected an IPv4 gateway after the colon (NET/MASK:GATEWAY, e.g. 10.0.50.0/24:10.40.0.1), got "10.0.50.0/24:gw"',
    );
  });
});

describe('the network section', () => {
  it('normalizes both route forms to network, prefix and gateway', () => {
    const section = networkSection.parse({
      ...GUIDE,
      routes: [...GUIDE.routes, { network: '10.0.60.0', netmask: '255.255.255.0', via: '198.51.100.140' }],
    });
    expect(normalizeNetwork(section).routes).toEqual([
      { address: '10.0.50.0', prefix: 24, via: '10.40.0.1' },
      { address: '10.0.60.0', prefix: 24, via: '198.51.100.140' },
    ]);
  });

  it('refuses values that do not fit together, each at its own path', () => {
    const problems = networkProblems({
      internal: { address: '10.40.0.0', netmask: '255.255.255.0' },
      external: { address: '10.40.0.130', netmask: '255.255.255.128', gateway: '10.0.0.1', dns: ['8.8.8.8'] },
      routes: [
        { to: '10.0.50.7/24', via: '10.40.0.1' },
        { to: '10.0.60.0/24', via: '172.16.0.1' },
        { to: '0.0.0.0/0', via: '10.40.0.1' },
        { network: '10.0.70.0', netmask: '255.255.255.0', via: '10.40.0.1' },
        { to: '10.0.70.0/24', via: '10.40.0.1' },
      ],
    });
    expect(problems.map((p) => `${p.path.join('.')}: ${p.message}`)).toEqual([
      'internal.address: 10.40.0.0 is the network or broadcast address of 10.40.0.0/24, not a host address',
      'external.address: the external network 10.40.0.128/25 overlaps the internal network 10.40.0.0/24',
      'external.gateway: the gateway 10.0.0.1 must be another address of the external network 10.40.0.128/25',
      'routes.0.to: 10.0.50.7/24 is not a network address (did you mean 10.0.50.0/24?)',
      'routes.1.via: the gateway 172.16.0.1 must be another address of the internal network 10.40.0.0/24 or the external network 10.40.0.128/25',
      'routes.2.to: the default route is external.gateway, not a static route',
      'routes.4.to: two routes to 10.0.70.0/24',
    ]);
    expect(networkProblems(networkSection.parse(GUIDE))).toEqual([]);
  });
});

describe('/etc/network/interfaces (v4)', () => {
  it("is exactly the guide's Appendix 2 file below the header it had", () => {
    expect(renderInterfaces(desired, HEADER)).toBe(`${HEADER}auto lo eth0 eth1
iface lo inet loopback

iface eth0 inet static
   address 10.40.0.2
   netmask 255.255.255.0

iface eth1 inet static
   address 198.51.100.130
   netmask 255.255.255.128
   gateway 198.51.100.129
   dns-nameservers 8.8.8.8 8.8.4.4

post-up route add -net 10.0.50.0 netmask 255.255.255.0 gw 10.40.0.1
`);
    expect(renderInterfaces({ ...desired, routes: [] }, '')).not.toContain('post-up');
  });

  it('keeps the header comment lines, and only those', () => {
    expect(headerOf(`${HEADER}auto lo eth0\n# later comment\n`)).toBe(HEADER);
    expect(headerOf('auto lo\n')).toBe('');
    expect(headerOf(undefined)).toBe('');
  });

  it('reads a file as ifupdown does (bottom post-up lines belong to the last stanza) and names what a rewrite drops', () => {
    const text = `${HEADER}auto lo eth0 eth2
source /etc/network/interfaces.d/*
iface lo inet loopback

iface eth0 inet static
  address 10.40.0.11
  netmask 255.255.255.0
  gateway 10.40.0.1
  mtu 9000

iface eth2 inet dhcp

post-up route add -net 10.0.50.0 netmask 255.255.255.0 gw 10.40.0.1
`;
    const file = parseInterfaces(text);
    expect(file.auto).toEqual(['lo', 'eth0', 'eth2']);
    expect(file.stanzas.at(-1)?.options).toEqual([
      ['post-up', 'route add -net 10.0.50.0 netmask 255.255.255.0 gw 10.40.0.1'],
    ]);
    expect(describeInterfaces(file)).toBe('eth0 10.40.0.11/24 gateway 10.40.0.1, eth2 dhcp');
    expect(droppedByRewrite(file)).toEqual([
      'auto eth2',
      'source /etc/network/interfaces.d/*',
      'eth0: mtu 9000',
      'iface eth2 inet dhcp',
    ]);
    expect(droppedByRewrite(parseInterfaces(renderInterfaces(desired, HEADER)))).toEqual([]);
  });
});

describe('/etc/netplan/01-netcfg.yaml (v7)', () => {
  it('puts the default route and nameservers on nic1 and each static route on the NIC of its gateway', () => {
    const both = {
      ...desired,
      routes: [...desired.routes, { address: '203.0.113.0', prefix: 24, via: '198.51.100.140' }],
    };
    expect(renderNetplan(both, '# wizard\n')).toBe(`# wizard
network:
  version: 2
  renderer: networkd
  ethernets:
    nic0:
      dhcp4: false
      dhcp6: false
      addresses:
      - 10.40.0.2/24
      routes:
      - to: 10.0.50.0/24
        via: 10.40.0.1
    nic1:
      dhcp4: false
      dhcp6: false
      addresses:
      - 198.51.100.130/25
      nameservers:
        addresses:
        - 8.8.8.8
        - 8.8.4.4
      routes:
      - to: default
        via: 198.51.100.129
      - to: 203.0.113.0/24
        via: 198.51.100.140
`);
  });

  it('reads the current file back, with gateway4 as a default route, and names what a rewrite drops', () => {
    const file = parseNetplan(`network:
  version: 2
  bonds: {}
  ethernets:
    nic0:
      addresses: [10.40.0.12/24]
      gateway4: 10.40.0.1
      mtu: 1400
    nic2:
      dhcp4: true
`);
    expect(describeNetplan(file)).toBe('nic0 10.40.0.12/24 gateway 10.40.0.1, nic2 no address');
    expect(file.dropped).toEqual(['network.bonds', 'ethernets.nic0.mtu', 'ethernets.nic2']);
    expect(parseNetplan(renderNetplan(desired, '')).dropped).toEqual([]);
    expect(describeNetplan(parseNetplan('network: [unclosed'))).toMatch(/^unreadable \(/);
  });
});

describe('ip facts', () => {
  const addrJson = JSON.stringify([
    {
      ifname: 'lo',
      flags: ['LOOPBACK', 'UP'],
      addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }],
    },
    {
      ifname: 'eth1',
      flags: ['BROADCAST', 'UP', 'LOWER_UP'],
      addr_info: [
        { family: 'inet', local: '198.51.100.130', prefixlen: 25 },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
      ],
    },
    { ifname: 'eth2', flags: ['BROADCAST'], addr_info: [] },
  ]);

  it('reads `ip -j addr` and the text of `ip -o addr` alike', () => {
    const fromJson = parseAddresses(addrJson);
    expect(fromJson.get('eth1')).toEqual({ name: 'eth1', up: true, ipv4: ['198.51.100.130/25'] });
    expect(fromJson.get('eth2')).toEqual({ name: 'eth2', up: false, ipv4: [] });
    const text =
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n' +
      '3: eth1    inet 198.51.100.130/25 brd 198.51.100.255 scope global eth1\\       valid_lft forever\n' +
      '3: eth1    inet6 fe80::1/64 scope link \\       valid_lft forever\n';
    expect(parseAddresses(text).get('eth1')).toEqual({ name: 'eth1', ipv4: ['198.51.100.130/25'] });
  });

  it('reads `ip -j route` and the text of `ip route` alike', () => {
    const json = JSON.stringify([
      { dst: 'default', gateway: '198.51.100.129', dev: 'eth1', flags: ['onlink'] },
      { dst: '10.0.50.0/24', gateway: '10.40.0.1', dev: 'eth0', flags: [] },
      { dst: '10.40.0.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '10.40.0.2' },
    ]);
    const text = [
      'default via 198.51.100.129 dev eth1 onlink',
      '10.0.50.0/24 via 10.40.0.1 dev eth0',
      '10.40.0.0/24 dev eth0 proto kernel scope link src 10.40.0.2',
    ].join('\n');
    const expected = [
      { to: 'default', via: '198.51.100.129', dev: 'eth1' },
      { to: '10.0.50.0/24', via: '10.40.0.1', dev: 'eth0' },
      { to: '10.40.0.0/24', dev: 'eth0' },
    ];
    expect(parseRoutes(json)).toEqual(expected);
    expect(parseRoutes(text)).toEqual(expected);
    expect(parseRoutes('10.0.50.5 via 10.40.0.1 dev eth0')).toEqual([
      { to: '10.0.50.5/32', via: '10.40.0.1', dev: 'eth0' },
    ]);
  });
});
