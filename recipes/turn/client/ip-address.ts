/**
 * IP address text <-> bytes, for the address attributes of STUN. node:net validates addresses
 * but has no conversion to or from bytes.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface TransportAddress {
  /** dotted IPv4, or IPv6 in its RFC 5952 text form */
  address: string;
  port: number;
}

function ipv4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

/** 16 bytes of an IPv6 address: "::" expanded, a dotted IPv4 tail converted, a zone id dropped. */
function ipv6Bytes(text: string): number[] {
  let rest = text.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (dotted) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Bytes(dotted[1]!);
    rest = `${rest.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const [left = '', right] = rest.split('::');
  const head = groups(left);
  const tail = right === undefined ? [] : groups(right);
  const zeros = Array<number>(8 - head.length - tail.length).fill(0);
  return [...head, ...zeros, ...tail].flatMap((g) => [g >> 8, g & 0xff]);
}

export function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(ipv4Bytes(address));
  if (isIPv6(address)) return Buffer.from(ipv6Bytes(address));
  throw new RangeError(`not an IPv4 or IPv6 address: ${address}`);
}

/** RFC 5952 text: lower-case hex, no leading zeros, the first longest run of 2+ zero groups as "::". */
export function addressFromBytes(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { start: -1, length: 1 };
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > best.length) best = { start, length };
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  const left = hex.slice(0, best.start).join(':');
  const right = hex.slice(best.start + best.length).join(':');
  return `${left}::${right}`;
}
