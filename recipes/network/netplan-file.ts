/**
 * /etc/netplan/01-netcfg.yaml of a v7 appliance, in the shape the install wizard writes, for two
 * NICs: nic0 internal without a default route, nic1 external with `routes: [{to: default, via:
 * GW}]` and the nameservers; each static route goes under the NIC whose network holds its gateway.
 *
 *   network:
 *     version: 2
 *     renderer: networkd
 *     ethernets:
 *       nic0:
 *         dhcp4: false
 *         dhcp6: false
 *         addresses:
 *         - 10.40.0.2/24
 *         routes:
 *         - to: 10.0.50.0/24
 *           via: 10.40.0.1
 *       nic1:
 *         ...
 *
 * The file's header comments are kept; `parseNetplan` reads the current file to describe it and to
 * warn about what the new one leaves out.
 */
import { parse } from 'yaml';
import { contains } from './ipv4.js';
import type { NetworkDesired, NetworkRoute } from './schema.js';

export { headerOf } from './interfaces-file.js';

export const V7_NICS = { internal: 'nic0', external: 'nic1' } as const;

const routeLines = (routes: readonly { to: string; via: string }[]) =>
  routes.length
    ? ['      routes:', ...routes.flatMap((r) => [`      - to: ${r.to}`, `        via: ${r.via}`])]
    : [];

const cidr = (r: NetworkRoute) => `${r.address}/${r.prefix}`;

export function renderNetplan(desired: NetworkDesired, header: string): string {
  const { internal, external } = desired;
  const viaInternal = desired.routes.filter((r) => contains(internal, r.via));
  const viaExternal = desired.routes.filter((r) => !contains(internal, r.via));
  const lines = [
    'network:',
    '  version: 2',
    '  renderer: networkd',
    '  ethernets:',
    `    ${V7_NICS.internal}:`,
    '      dhcp4: false',
    '      dhcp6: false',
    '      addresses:',
    `      - ${internal.address}/${internal.prefix}`,
    ...routeLines(viaInternal.map((r) => ({ to: cidr(r), via: r.via }))),
    `    ${V7_NICS.external}:`,
    '      dhcp4: false',
    '      dhcp6: false',
    '      addresses:',
    `      - ${external.address}/${external.prefix}`,
    '      nameservers:',
    '        addresses:',
    ...external.dns.map((dns) => `        - ${dns}`),
    ...routeLines([
      { to: 'default', via: external.gateway },
      ...viaExternal.map((r) => ({ to: cidr(r), via: r.via })),
    ]),
  ];
  return `${header}${lines.join('\n')}\n`;
}

export interface NetplanNic {
  name: string;
  addresses: string[];
  /** `to` and `via` of each route (`gateway4` shows as a default route) */
  routes: { to: string; via: string }[];
}

export interface NetplanFile {
  nics: NetplanNic[];
  /** settings the rendered file will not carry, one line each */
  dropped: string[];
  /** the file is not YAML netplan can read */
  problem?: string;
}

const KNOWN_NETWORK_KEYS = new Set(['version', 'renderer', 'ethernets']);
const KNOWN_NIC_KEYS = new Set(['dhcp4', 'dhcp6', 'addresses', 'nameservers', 'routes', 'gateway4']);

const record = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

export function parseNetplan(text: string | undefined): NetplanFile {
  let doc: unknown;
  try {
    doc = parse(text ?? '');
  } catch (err) {
    return { nics: [], dropped: [], problem: (err as Error).message.split('\n')[0] };
  }
  const network = record(record(doc).network);
  const dropped = Object.keys(network)
    .filter((key) => !KNOWN_NETWORK_KEYS.has(key))
    .map((key) => `network.${key}`);
  const managed = new Set<string>([V7_NICS.internal, V7_NICS.external]);
  const nics = Object.entries(record(network.ethernets)).map(([name, value]): NetplanNic => {
    const nic = record(value);
    if (!managed.has(name)) dropped.push(`ethernets.${name}`);
    else
      for (const key of Object.keys(nic).filter((k) => !KNOWN_NIC_KEYS.has(k)))
        dropped.push(`ethernets.${name}.${key}`);
    const routes = (Array.isArray(nic.routes) ? nic.routes : []).map((r) => ({
      to: String(record(r).to),
      via: String(record(r).via),
    }));
    if (typeof nic.gateway4 === 'string') routes.unshift({ to: 'default', via: nic.gateway4 });
    return { name, addresses: strings(nic.addresses), routes };
  });
  return { nics, dropped };
}

/** "nic0 10.40.0.11/24 default via 10.40.0.1" for each NIC of the file. */
export function describeNetplan(file: NetplanFile): string {
  if (file.problem) return `unreadable (${file.problem})`;
  const described = file.nics.map((nic) => {
    const gateway = nic.routes.find((r) => r.to === 'default' || r.to === '0.0.0.0/0');
    return `${nic.name} ${nic.addresses.join(' ') || 'no address'}${gateway ? ` gateway ${gateway.via}` : ''}`;
  });
  return described.join(', ') || 'no NIC configured';
}
