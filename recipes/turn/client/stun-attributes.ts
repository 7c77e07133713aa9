/**
 * Values of the STUN/TURN attributes an Allocate probe sends or reads (RFC 5389 15, RFC 5766 14).
 */
import { addressBytes, addressFromBytes, type TransportAddress } from './ip-address.js';
import { AttributeType, MAGIC_COOKIE, type StunAttribute, StunDecodeError } from './stun.js';

export type { TransportAddress } from './ip-address.js';

const UDP = 17;

export function text(type: number, value: string): StunAttribute {
  return { type, value: Buffer.from(value, 'utf8') };
}

export function uint32(type: number, value: number): StunAttribute {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return { type, value: out };
}

export function decodeUint32(value: Buffer): number {
  if (value.length !== 4) throw new StunDecodeError('expected a 32-bit value');
  return value.readUInt32BE(0);
}

export function requestedTransportUdp(): StunAttribute {
  // protocol number, then 24 reserved bits (RFC 5766 14.7)
  return { type: AttributeType.requestedTransport, value: Buffer.from([UDP, 0, 0, 0]) };
}

export interface ErrorCode {
  code: number;
  reason: string;
}

export function errorCode({ code, reason }: ErrorCode): StunAttribute {
  const head = Buffer.from([0, 0, Math.floor(code / 100), code % 100]);
  return { type: AttributeType.errorCode, value: Buffer.concat([head, Buffer.from(reason, 'utf8')]) };
}

export function decodeErrorCode(value: Buffer): ErrorCode {
  if (value.length < 4) throw new StunDecodeError('ERROR-CODE shorter than 4 bytes');
  // coturn counts the C string's terminating NUL in the reason phrase
  const reason = value.subarray(4).toString('utf8').replace(/\0+$/, '');
  return { code: (value[2]! & 0x07) * 100 + value[3]!, reason };
}

/** The xor pad of an address: the magic cookie, then (IPv6) the transaction id. */
function xorPad(transactionId: Buffer): Buffer {
  const pad = Buffer.alloc(16);
  pad.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(pad, 4);
  return pad;
}

function xored(bytes: Buffer, pad: Buffer): Buffer {
  return Buffer.from(bytes.map((b, i) => b ^ pad[i]!));
}

const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;

function encodeAddressValue(family: number, port: number, ip: Buffer): Buffer {
  const out = Buffer.alloc(4 + ip.length);
  out.writeUInt8(family, 1);
  out.writeUInt16BE(port, 2);
  ip.copy(out, 4);
  return out;
}

function decodeAddressValue(value: Buffer): { port: number; ip: Buffer } {
  const family = value[1];
  const size = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : 0;
  if (size === 0) throw new StunDecodeError(`unknown address family ${family}`);
  if (value.length !== 4 + size) throw new StunDecodeError('address attribute of the wrong length');
  return { port: value.readUInt16BE(2), ip: Buffer.from(value.subarray(4)) };
}

/** XOR-MAPPED-ADDRESS, XOR-RELAYED-ADDRESS, XOR-PEER-ADDRESS (RFC 5389 15.2). */
export function xorAddress(type: number, address: TransportAddress, transactionId: Buffer): StunAttribute {
  const ip = addressBytes(address.address);
  const family = ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  const value = encodeAddressValue(
    family,
    address.port ^ (MAGIC_COOKIE >>> 16),
    xored(ip, xorPad(transactionId)),
  );
  return { type, value };
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress {
  const { port, ip } = decodeAddressValue(value);
  return { address: addressFromBytes(xored(ip, xorPad(transactionId))), port: port ^ (MAGIC_COOKIE >>> 16) };
}

/** MAPPED-ADDRESS, which RFC 3489 servers send instead of XOR-MAPPED-ADDRESS. */
export function decodePlainAddress(value: Buffer): TransportAddress {
  const { port, ip } = decodeAddressValue(value);
  return { address: addressFromBytes(ip), port };
}
