/**
 * IPv4 arithmetic for the network recipe: netmasks and prefix lengths, networks, and the forms a
 * network is written in (`10.0.50.0/24`, `10.0.50.0/255.255.255.0`).
 *
 *   prefixOf('255.255.255.128')            -> 25
 *   netmaskOf(25)                          -> '255.255.255.128'
 *   networkOf('198.51.100.130', 25)        -> '198.51.100.128'
 *   parsePrefixed('10.40.0.2/255.255.255.0') -> { address: '10.40.0.2', prefix: 24 }
 */
import { isIPv4, isNetmask } from '../../src/inventory/types.js';

const toNumber = (address: string): number =>
  address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const toAddress = (n: number): string =>
  [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
const maskNumber = (prefix: number): number => (prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix));

/** Prefix length of a contiguous netmask (callers check it with isNetmask first). */
export function prefixOf(netmask: string): number {
  const n = toNumber(netmask);
  let prefix = 0;
  while (prefix < 32 && n >= 2 ** 32 - 2 ** (31 - prefix)) prefix++;
  return prefix;
}

export const netmaskOf = (prefix: number): string => toAddress(maskNumber(prefix));

export function networkOf(address: string, prefix: number): string {
  const n = toNumber(address);
  const size = 2 ** (32 - prefix);
  return toAddress(n - (n % size));
}

export function broadcastOf(address: string, prefix: number): string {
  const size = 2 ** (32 - prefix);
  return toAddress(toNumber(networkOf(address, prefix)) + size - 1);
}

export function contains(network: { address: string; prefix: number }, address: string): boolean {
  return networkOf(address, network.prefix) === networkOf(network.address, network.prefix);
}

export function overlaps(
  a: { address: string; prefix: number },
  b: { address: string; prefix: number },
): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return networkOf(a.address, prefix) === networkOf(b.address, prefix);
}

export interface Prefixed {
  address: string;
  prefix: number;
}

/** `a.b.c.d/24` or `a.b.c.d/255.255.255.0`; a problem (one line) when it is neither. */
export function parsePrefixed(text: string, what: string): Prefixed | { problem: string } {
  const [address = '', mask, ...rest] = text.split('/');
  const problem = `${JSON.stringify(text)} is not ${what} (address/prefix or address/netmask, e.g. 10.40.0.2/24)`;
  if (mask === undefined || rest.length > 0 || !isIPv4(address)) return { problem };
  if (/^\d{1,2}$/.test(mask) && Number(mask) <= 32) return { address, prefix: Number(mask) };
  if (isNetmask(mask)) return { address, prefix: prefixOf(mask) };
  return { problem };
}
