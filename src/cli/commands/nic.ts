/**
 * `rpctl nic setup`: the one-off version of the second-nic recipe. Flags replace fields of the
 * inventory's `network` section for the selected appliances (what they leave out comes from the
 * inventory); `--save` writes the given fields back for the appliances that reached the new state.
 * Applied commit-confirmed like any network change: see README "Second NIC".
 */
import { netmaskOf, parsePrefixed } from '../../../recipes/network/ipv4.js';
import { type NetworkSection, networkInventorySection } from '../../../recipes/network/schema.js';
import { InputError } from '../../errors.js';
import type { ApplianceConfig } from '../../inventory/model.js';
import { withSection } from '../../inventory/section.js';
import { isIPv4, isIpAddress, isSshHost, showValue } from '../../inventory/types.js';
import type { InventoryOptions } from '../common.js';
import { runFleetCommand } from '../fleet.js';
import type { CommandContext, CommandModule } from '../program.js';
import { addOneOffFlags, ONE_OFF_FORMATS, type RunFlags } from '../run-options.js';
import { saveReached } from '../save.js';

const FORMATS = ONE_OFF_FORMATS;

interface SetupFlags extends RunFlags, InventoryOptions {
  internal?: string;
  external?: string;
  gateway?: string;
  dns?: string;
  route?: string[];
  managementAddress?: string;
  save?: boolean;
}

type NetworkFields = Partial<NetworkSection>;

function nicFlag(flag: string, value: string): { address: string; netmask: string } {
  const parsed = parsePrefixed(value, 'an address with its netmask');
  if ('problem' in parsed) throw new InputError(`${flag}: ${parsed.problem}`);
  return { address: parsed.address, netmask: netmaskOf(parsed.prefix) };
}

/** `NET/MASK:GW`, e.g. 10.0.50.0/24:10.40.0.1 or 10.0.50.0/255.255.255.0:10.40.0.1. */
export function parseRouteFlag(value: string): { to: string; via: string } {
  const colon = value.lastIndexOf(':');
  const hint = 'NET/MASK:GATEWAY, e.g. 10.0.50.0/24:10.40.0.1';
  if (colon < 0) throw new InputError(`--route: ${showValue(value)} is not ${hint}`);
  const network = parsePrefixed(value.slice(0, colon), 'a network');
  const via = value.slice(colon + 1);
  if ('problem' in network) throw new InputError(`--route: ${network.problem}; expected ${hint}`);
  if (!isIPv4(via)) throw new InputError(`--route: the gateway ${showValue(via)} is not an IPv4 address`);
  return { to: `${network.address}/${network.prefix}`, via };
}

/** The fields the flags give (checked one by one; how they fit together is the recipe's check). */
export function networkFlags(flags: SetupFlags): NetworkFields {
  const external: Partial<NetworkSection['external']> = {
    ...(flags.external === undefined ? {} : nicFlag('--external', flags.external)),
  };
  if (flags.gateway !== undefined) {
    if (!isIPv4(flags.gateway))
      throw new InputError(`--gateway: ${showValue(flags.gateway)} is not an IPv4 address`);
    external.gateway = flags.gateway;
  }
  if (flags.dns !== undefined) {
    const dns = flags.dns.split(',').map((s) => s.trim());
    const bad = dns.find((d) => !isIpAddress(d));
    if (bad !== undefined) throw new InputError(`--dns: ${showValue(bad)} is not an IP address`);
    external.dns = dns;
  }
  if (flags.managementAddress !== undefined && !isSshHost(flags.managementAddress))
    throw new InputError(
      `--management-address: ${showValue(flags.managementAddress)} is not an address or host name`,
    );
  return {
    ...(flags.internal === undefined ? {} : { internal: nicFlag('--internal', flags.internal) }),
    ...(Object.keys(external).length ? { external: external as NetworkSection['external'] } : {}),
    ...(flags.route === undefined ? {} : { routes: flags.route.map(parseRouteFlag) }),
    ...(flags.managementAddress === undefined ? {} : { managementAddress: flags.managementAddress }),
  };
}

/** The appliance's `network` section with the flags' fields in place. */
function withNetwork(appliance: ApplianceConfig, fields: NetworkFields): ApplianceConfig {
  const section = (appliance.sections.network ?? {}) as NetworkFields;
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
    throw new InputError(
      `${appliance.name}: ${missing.join('; ')} (or set them under network: in the inventory)`,
    );
  return withSection(appliance, networkInventorySection, merged);
}

async function setup(ctx: CommandContext, flags: SetupFlags): Promise<void> {
  const fields = networkFlags(flags);
  const secondNic = ctx.registry.recipes.find((r) => r.name === 'second-nic');
  if (!secondNic) throw new InputError('recipe second-nic is not available in this build');
  const result = await runFleetCommand(ctx, {
    mode: 'apply',
    flags,
    formats: FORMATS,
    recipes: [secondNic],
    override: (appliance) => withNetwork(appliance, fields),
  });
  if (flags.save) {
    // external's fields one by one: --gateway alone must not drop the saved address
    const values: [string[], unknown][] = Object.entries(fields).flatMap(([key, value]) =>
      key === 'external'
        ? Object.entries(value as object).map(([field, v]): [string[], unknown] => [[key, field], v])
        : [[[key], value]],
    );
    await saveReached(ctx, flags, result, (name) =>
      values.map(([path, value]) => ({
        op: 'set' as const,
        path: ['appliances', name, 'network', ...path],
        value,
      })),
    );
  }
}

export const nicCommands: CommandModule = {
  register(program, ctx) {
    const nic = program.command('nic').description('one-off network changes: the second NIC');
    addOneOffFlags(nic.command('setup'))
      .description(
        'configure the internal and external NIC, static routes and TURN relay-ip (restarts network and TURN)',
      )
      .option(
        '--internal <addr/mask>',
        'internal NIC (eth0/nic0), e.g. 10.40.0.2/24 or 10.40.0.2/255.255.255.0',
      )
      .option('--external <addr/mask>', 'external NIC (eth1/nic1), e.g. 198.51.100.130/25')
      .option('--gateway <ip>', 'default gateway, on the external network')
      .option('--dns <a,b>', 'DNS servers, comma-separated')
      .option(
        '--route <net/mask:gw>',
        'static route, repeatable: 10.0.50.0/24:10.40.0.1 (replaces the inventory routes)',
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option('--management-address <host>', 'reconnect over this after the restart (default: the SSH host)')
      .option('--save', 'write the given fields into the inventory for the appliances that reached them')
      .addHelpText(
        'after',
        `
Flags replace the matching fields of the inventory's network section; the rest comes from it.
Restarting the network and TURN cuts calls: without --allow-disruptive nothing changes (exit 2).
With it the change is commit-confirmed: the appliance arms a rollback, restarts its network,
and rolls back by itself after --confirm-timeout seconds (default 120) unless rpctl reconnects
over the management address, sees the addresses and routes it expects, and confirms.

Exit codes: 0 done and confirmed, 1 a host failed (it rolled back) or is unreachable,
2 deferred (no --allow-disruptive) or declined, 3 invalid input (nothing contacted).

Examples:
  rpctl nic setup -i inventories/prod.yaml --limit rp1                # from the inventory: shows, defers
  rpctl nic setup -i inventories/prod.yaml --limit rp1 --internal 10.40.0.2/24 \\
      --external 198.51.100.130/25 --gateway 198.51.100.129 --dns 8.8.8.8,8.8.4.4 \\
      --route 10.0.50.0/24:10.40.0.1 --allow-disruptive --save
  rpctl nic setup -i inventories/prod.yaml --limit rp1 --allow-disruptive --confirm-timeout 60 --yes`,
      )
      .action((flags: SetupFlags) => setup(ctx, flags));
  },
};
