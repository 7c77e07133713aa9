/**
 * The `network` inventory section, read by the second-nic recipe: the guide's dual-NIC layout
 * ("Configuring a second NIC", "Appendix 2").
 *
 *   network:
 *     internal:                          # eth0 (v4) / nic0 (v7): the NIC SSH and the nodes use; no gateway
 *       address: 10.40.0.2
 *       netmask: 255.255.255.0
 *     external:                          # eth1 / nic1: the DMZ side, with the only default gateway
 *       address: 198.51.100.130
 *       netmask: 255.255.255.128
 *       gateway: 198.51.100.129
 *       dns: [8.8.8.8, 8.8.4.4]
 *     routes:                            # static routes, usually to the management networks
 *       - { to: 10.0.50.0/24, via: 10.40.0.1 }
 *       - { network: 10.0.60.0, netmask: 255.255.255.0, via: 10.40.0.1 }
 *     managementAddress: 10.40.0.2       # what rpctl reconnects to after the change (default: ssh host)
 *
 * Everything is checked before any host is contacted, including what only makes sense together: the
 * gateway is on the external network, each route's gateway on one of the two, the networks do
 * not overlap. `normalizeNetwork` turns a valid section into what the planner works with.
 */
import { z } from 'zod';
import { defineSection } from '../../src/engine/contract.js';
import { ipAddress, ipv4, netmask, sshHost } from '../../src/inventory/types.js';
import {
  broadcastOf,
  contains,
  networkOf,
  overlaps,
  type Prefixed,
  parsePrefixed,
  prefixOf,
} from './ipv4.js';

const internalNic = z
  .strictObject({
    address: ipv4.meta({ description: 'IPv4 address of the internal NIC (eth0 on v4, nic0 on v7)' }),
    netmask: netmask.meta({ description: "the internal network's netmask, e.g. 255.255.255.0" }),
  })
  .meta({
    description: 'the internally-facing NIC: SSH and the conferencing nodes reach it; it has no gateway',
  });

const externalNic = z
  .strictObject({
    address: ipv4.meta({ description: 'IPv4 address of the external NIC (eth1 on v4, nic1 on v7)' }),
    netmask: netmask.meta({ description: "the external network's netmask, e.g. 255.255.255.128" }),
    gateway: ipv4.meta({ description: 'the default gateway (the DMZ firewall), on the external network' }),
    dns: z
      .array(ipAddress)
      .min(1, 'give at least one DNS server')
      .max(3, 'at most 3 DNS servers (the resolver uses no more)')
      .meta({ description: 'DNS servers: dns-nameservers (v4) / nameservers (v7) of the external NIC' }),
  })
  .meta({ description: 'the externally-facing NIC: the only default gateway and the DNS servers' });

const route = z
  .union([
    z.strictObject({
      to: z.string().meta({ description: 'the destination network, address/prefix: 10.0.50.0/24' }),
      via: ipv4.meta({ description: 'the gateway, on the internal or external network' }),
    }),
    z.strictObject({
      network: ipv4.meta({ description: 'the destination network address: 10.0.50.0' }),
      netmask: netmask.meta({ description: "the destination's netmask: 255.255.255.0" }),
      via: ipv4.meta({ description: 'the gateway, on the internal or external network' }),
    }),
  ])
  .meta({ description: 'a static route: `to` (address/prefix), or `network` and `netmask`; and `via`' });

export const networkSection = z
  .strictObject({
    internal: internalNic,
    external: externalNic,
    routes: z.array(route).optional().meta({
      description:
        'static routes (`post-up route add -net` on v4, `routes:` of the NIC they go through on v7)',
    }),
    managementAddress: sshHost.optional().meta({
      description:
        'where rpctl reconnects over SSH after restarting the network, to confirm the change (default: ssh.host)',
    }),
  })
  .superRefine((section, ctx) => {
    for (const problem of networkProblems(section)) ctx.addIssue({ code: 'custom', ...problem });
  })
  .meta({
    description:
      'second NIC (recipe second-nic): internal and external NIC, static routes; applied commit-confirmed, disruptive',
  });

export type NetworkSection = z.output<typeof networkSection>;

export interface NetworkRoute extends Prefixed {
  via: string;
}

export interface NetworkDesired {
  internal: Prefixed;
  external: Prefixed & { gateway: string; dns: string[] };
  routes: NetworkRoute[];
  /** the address rpctl reconnects over; undefined: the SSH host */
  managementAddress?: string;
}

type RouteEntry = NonNullable<NetworkSection['routes']>[number];

/** A route entry as network + prefix, or why it is not one. */
export function routeOf(entry: RouteEntry): NetworkRoute | { problem: string } {
  if ('to' in entry) {
    const parsed = parsePrefixed(entry.to, 'a network');
    return 'problem' in parsed ? parsed : { ...parsed, via: entry.via };
  }
  return { address: entry.network, prefix: prefixOf(entry.netmask), via: entry.via };
}

/** Problems of values that are each valid but do not fit together; `path` is inside the section. */
export function networkProblems(section: NetworkSection): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const internal = { address: section.internal.address, prefix: prefixOf(section.internal.netmask) };
  const external = { address: section.external.address, prefix: prefixOf(section.external.netmask) };
  const show = (n: Prefixed) => `${networkOf(n.address, n.prefix)}/${n.prefix}`;
  for (const [key, nic] of [
    ['internal', internal],
    ['external', external],
  ] as const) {
    // /31 and /32 networks have no network or broadcast address to avoid
    const edges =
      nic.prefix < 31 ? [networkOf(nic.address, nic.prefix), broadcastOf(nic.address, nic.prefix)] : [];
    if (edges.includes(nic.address))
      problems.push({
        path: [key, 'address'],
        message: `${nic.address} is the network or broadcast address of ${show(nic)}, not a host address`,
      });
  }
  if (overlaps(internal, external))
    problems.push({
      path: ['external', 'address'],
      message: `the external network ${show(external)} overlaps the internal network ${show(internal)}`,
    });
  const gateway = section.external.gateway;
  if (!contains(external, gateway) || gateway === external.address)
    problems.push({
      path: ['external', 'gateway'],
      message: `the gateway ${gateway} must be another address of the external network ${show(external)}`,
    });
  const seen = new Set<string>();
  (section.routes ?? []).forEach((entry, index) => {
    const parsed = routeOf(entry);
    if ('problem' in parsed) {
      problems.push({ path: ['routes', index, 'to'], message: parsed.problem });
      return;
    }
    const destination = `${parsed.address}/${parsed.prefix}`;
    const at = ['routes', index, 'to' in entry ? 'to' : 'network'];
    if (networkOf(parsed.address, parsed.prefix) !== parsed.address)
      problems.push({
        path: at,
        message: `${destination} is not a network address (did you mean ${show(parsed)}?)`,
      });
    else if (parsed.prefix === 0)
      problems.push({ path: at, message: 'the default route is external.gateway, not a static route' });
    else if (seen.has(destination)) problems.push({ path: at, message: `two routes to ${destination}` });
    seen.add(destination);
    const onLink = contains(internal, parsed.via) || contains(external, parsed.via);
    if (!onLink || parsed.via === internal.address || parsed.via === external.address)
      problems.push({
        path: ['routes', index, 'via'],
        message: `the gateway ${parsed.via} must be another address of the internal network ${show(internal)} or the external network ${show(external)}`,
      });
  });
  return problems;
}

/** The section as the planner uses it (call on a section the schema accepted). */
export function normalizeNetwork(section: NetworkSection): NetworkDesired {
  return {
    internal: { address: section.internal.address, prefix: prefixOf(section.internal.netmask) },
    external: {
      address: section.external.address,
      prefix: prefixOf(section.external.netmask),
      gateway: section.external.gateway,
      dns: [...section.external.dns],
    },
    routes: (section.routes ?? []).map((entry) => routeOf(entry) as NetworkRoute),
    ...(section.managementAddress ? { managementAddress: section.managementAddress } : {}),
  };
}

export const networkInventorySection = defineSection({
  key: 'network',
  description: 'second NIC (recipe second-nic): internal and external NIC, static routes',
  schema: networkSection,
});
