/**
 * Addresses and names of the lab's networked appliances (see network.ts), as pure functions so the
 * appliance's files (files.ts) and the tests compute the same values. Documentation and private
 * ranges only, and they exist only inside network namespaces the lab made:
 *
 *   management network  10.0.50.0/24      where SSH comes from: the hub's 10.0.50.10
 *   internal LAN        10.40.0.0/24      router 10.40.0.1 (the hub); appliance N: 10.40.0.(10+N)
 *   DMZ                 198.51.100.128/25 firewall 198.51.100.129 (the hub); appliance N: .(130+N)
 *
 * This is the guide's "Appendix 2" layout: SSH reaches the internal NIC from the management network
 * through the LAN router, so once the default gateway moves to the DMZ the static route to
 * 10.0.50.0/24 via 10.40.0.1 is what keeps SSH working.
 */
import type { ApplianceSpec } from './files.js';

export const MANAGEMENT_CLIENT = '10.0.50.10';
export const MANAGEMENT_NETWORK = '10.0.50.0/24';
export const INTERNAL_ROUTER = '10.40.0.1';
export const INTERNAL_PREFIX = 24;
export const EXTERNAL_GATEWAY = '198.51.100.129';
export const EXTERNAL_PREFIX = 25;
/** appliance indexes that fit in the DMZ /25 */
export const MAX_NETWORKED_INDEX = 124;

export interface LabNics {
  /** eth0 (v4) / nic0 (v7) */
  internalName: string;
  /** eth1 (v4) / nic1 (v7) */
  externalName: string;
  internalAddress: string;
  externalAddress: string;
}

export function labNics(spec: Pick<ApplianceSpec, 'index' | 'generation'>): LabNics {
  if (spec.index < 1 || spec.index > MAX_NETWORKED_INDEX) {
    throw new Error(`lab: a networked appliance needs an index 1..${MAX_NETWORKED_INDEX}, got ${spec.index}`);
  }
  const [internalName, externalName] = spec.generation === 'v4' ? ['eth0', 'eth1'] : ['nic0', 'nic1'];
  return {
    internalName,
    externalName,
    internalAddress: `10.40.0.${10 + spec.index}`,
    externalAddress: `198.51.100.${130 + spec.index}`,
  };
}

/** Where the appliance's own services live: its internal NIC when networked, else its loopback address. */
export function serviceAddress(spec: ApplianceSpec): string {
  return spec.networked ? labNics(spec).internalAddress : spec.address;
}

/** The default gateway the install wizard configured. */
export function wizardGateway(spec: ApplianceSpec): string {
  return spec.networked ? INTERNAL_ROUTER : spec.address.replace(/\.\d+$/, '.254');
}

/** `rpctl-lab-127-0-17`: every network namespace of the lab at this prefix starts with it. */
export const netnsBase = (prefix: string): string => `rpctl-lab-${prefix.replaceAll('.', '-')}`;
export const hubNetns = (prefix: string): string => `${netnsBase(prefix)}-hub`;
export const applianceNetns = (prefix: string, name: string): string => `${netnsBase(prefix)}-${name}`;

/** The hub's end of an appliance's veth: `l0-17-3i` (internal) / `l0-17-3e`, at most 15 characters. */
export function hubPort(prefix: string, index: number, side: 'internal' | 'external'): string {
  const [, second, third] = prefix.split('.');
  return `l${second}-${third}-${index}${side === 'internal' ? 'i' : 'e'}`;
}
