/**
 * `rpctl nic setup`: the one-off version of the second-nic recipe. Flags replace fields of the
 * inventory's `network` section for the selected appliances (what they leave out comes from the
 * inventory); `--save` writes the given fields. Applied commit-confirmed like any network change:
 * see README "Second NIC".
 */

import type { AnyOneOffCommand, ChangeCommand, OneOffGroup, SavedValue } from '../../src/engine/contract.js';
import { badFlagValue, InputError } from '../../src/engine/contract.js';
import { isIPv4, isIpAddress, isSshHost } from '../../src/inventory/types.js';
import { netmaskOf, parsePrefixed } from './ipv4.js';
import type { NetworkSection } from './schema.js';
import { secondNicRecipe } from './second-nic.js';

export const nicGroup: OneOffGroup = { name: 'nic', description: 'one-off network changes: the second NIC' };

interface SetupFlags {
  internal?: string;
  external?: string;
  gateway?: string;
  dns?: string;
  route?: string[];
  managementAddress?: string;
}

type NetworkFields = Partial<NetworkSection>;

function nicFlag(flag: string, value: string): { address: string; netmask: string } {
  const parsed = parsePrefixed(value, 'an address with its netmask');
  if ('problem' in parsed)
    throw badFlagValue(flag, 'ADDRESS/PREFIX or ADDRESS/NETMASK, e.g. 10.40.0.2/24', value);
  return { address: parsed.address, netmask: netmaskOf(parsed.prefix) };
}

/** `NET/MASK:GW`, e.g. 10.0.50.0/24:10.40.0.1 or 10.0.50.0/255.255.255.0:10.40.0.1. */
export function parseRouteFlag(value: string): { to: string; via: string } {
  const colon = value.lastIndexOf(':');
  const hint = 'NET/MASK:GATEWAY, e.g. 10.0.50.0/24:10.40.0.1';
  if (colon < 0) throw badFlagValue('--route', hint, value);
  const network = parsePrefixed(value.slice(0, colon), 'a network');
  const via = value.slice(colon + 1);
  if ('problem' in network) throw new InputError(`--route: ${network.problem}; expected ${hint}`);
  if (!isIPv4(via)) throw badFlagValue('--route', `an IPv4 gateway after the colon (${hint})`, value);
  return { to: `${network.address}/${network.prefix}`, via };
}

/** The fields the flags give (checked one by one; how they fit together is the recipe's check). */
export function networkFlags(flags: SetupFlags): NetworkFields {
  const external: Partial<NetworkSection['external']> = {
    ...(flags.external === undefined ? {} : nicFlag('--external', flags.external)),
  };
  if (flags.gateway !== undefined) {
    if (!isIPv4(flags.gateway)) throw badFlagValue('--gateway', 'an IPv4 address', flags.gateway);
    external.gateway = flags.gateway;
  }
  if (flags.dns !== undefined) {
    const dns = flags.dns.split(',').map((s) => s.trim());
    const bad = dns.find((d) => !isIpAddress(d));
    if (bad !== undefined) throw badFlagValue('--dns', 'IP addresses, comma-separated', flags.dns);
    external.dns = dns;
  }
  if (flags.managementAddress !== undefined && !isSshHost(flags.managementAddress))
    throw badFlagValue('--management-address', 'an address or host name', flags.managementAddress);
  return {
    ...(flags.internal === undefined ? {} : { internal: nicFlag('--internal', flags.internal) }),
    ...(Object.keys(external).length ? { external: external as NetworkSection['external'] } : {}),
    ...(flags.route === undefined ? {} : { routes: flags.route.map(parseRouteFlag) }),
    ...(flags.managementAddress === undefined ? {} : { managementAddress: flags.managementAddress }),
  };
}

/** The `network` section with the flags' fields in place; what neither gives is an InputError. */
function withNetwork(name: string, current: unknown, fields: NetworkFields): NetworkFields {
  const section = (current ?? {}) as NetworkFields;
  const merged: NetworkFields = {
    ...section,
    ...fields,
    ...(section.external || fields.external
      ? { external: { ...section.external, ...fields.external } as NetworkSection['external'] }
      : {}),
  };
  const missing = [
    merged.internal ? '' : 'no internal NIC: pass --internal ADDR/MASK',
    merged.external?.address ? '' : 'no external NIC: pass --external ADDR/MASK',
    merged.external?.gateway ? '' : 'no gateway: pass --gateway GW',
    merged.external?.dns ? '' : 'no DNS servers: pass --dns A,B',
  ].filter(Boolean);
  if (missing.length > 0)
    throw new InputError(`${name}: ${missing.join('; ')} (or set them under network: in the inventory)`);
  return merged;
}

/** What --save writes: external's fields one by one (--gateway alone must not drop the saved address). */
function savedFields(fields: NetworkFields): SavedValue[] {
  return Object.entries(fields).flatMap(([key, value]): SavedValue[] =>
    key === 'external'
      ? Object.entries(value as object).map(([field, v]) => ({ path: ['network', key, field], value: v }))
      : [{ path: ['network', key], value }],
  );
}

export const nicSetup: ChangeCommand<NetworkFields> = {
  kind: 'change',
  path: ['nic', 'setup'],
  summary:
    'configure the internal and external NIC, static routes and TURN relay-ip (restarts network and TURN)',
  options: [
    {
      flags: '--internal <addr/mask>',
      description: 'internal NIC (eth0/nic0), e.g. 10.40.0.2/24 or 10.40.0.2/255.255.255.0',
    },
    { flags: '--external <addr/mask>', description: 'external NIC (eth1/nic1), e.g. 198.51.100.130/25' },
    { flags: '--gateway <ip>', description: 'default gateway, on the external network' },
    { flags: '--dns <a,b>', description: 'DNS servers, comma-separated' },
    {
      flags: '--route <net/mask:gw>',
      description: 'static route, repeatable: 10.0.50.0/24:10.40.0.1 (replaces the inventory routes)',
      repeatable: true,
    },
    {
      flags: '--management-address <host>',
      description: 'reconnect over this after the restart (default: the SSH host)',
    },
  ],
  disruptive: true,
  commitConfirmed: true,
  help: `
Flags replace the matching fields of the inventory's network section; the rest comes from it.
Restarting the network and TURN cuts calls: without --allow-disruptive nothing changes (exit 2).
With it the change is commit-confirmed: the appliance arms a rollback, restarts its network,
and rolls back by itself after --confirm-timeout seconds (default 120) unless rpctl reconnects
over the management address, sees the addresses and routes it expects, and confirms.`,
  exitCodes: { 1: 'an appliance failed (it rolled back) or is unreachable' },
  examples: [
    'rpctl nic setup -i inventories/prod.yaml --limit rp1                # from the inventory: shows, defers',
    'rpctl nic setup -i inventories/prod.yaml --limit rp1 --internal 10.40.0.2/24 \\',
    '    --external 198.51.100.130/25 --gateway 198.51.100.129 --dns 8.8.8.8,8.8.4.4 \\',
    '    --route 10.0.50.0/24:10.40.0.1 --allow-disruptive --save',
    'rpctl nic setup -i inventories/prod.yaml --limit rp1 --allow-disruptive --confirm-timeout 60 --yes',
  ],
  input: ({ options }) => networkFlags(options as SetupFlags),
  recipes: () => [secondNicRecipe],
  section: 'network',
  validateOverride: true,
  override: (fields, current, name) => withNetwork(name, current, fields),
  save: { writes: 'the network fields given', values: (fields) => savedFields(fields) },
};

export const nicCommands: readonly AnyOneOffCommand[] = [nicSetup];
