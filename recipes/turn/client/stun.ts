/**
 * STUN message codec (RFC 5389) with the TURN attributes (RFC 5766) an Allocate probe needs.
 * Pure functions over Buffers. Attribute values: stun-attributes.ts; the UDP exchange: stun-udp.ts.
 *
 *   const request = encodeMessage(
 *     { method: StunMethod.allocate, class: 'request', transactionId: newTransactionId(),
 *       attributes: [requestedTransportUdp()] },  // from stun-attributes.ts
 *     { fingerprint: true },
 *   );
 *   const response = decodeMessage(datagram); // throws StunDecodeError on anything malformed
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
export const MAGIC_COOKIE = 0x2112a442;
const HEADER_LENGTH = 20;
const INTEGRITY_LENGTH = 20;
const FINGERPRINT_XOR = 0x5354554e;

export const StunMethod = { binding: 0x001, allocate: 0x003, refresh: 0x004 } as const;

export type StunClass = 'request' | 'indication' | 'success' | 'error';
const CLASS_BITS: Record<StunClass, number> = { request: 0, indication: 1, success: 2, error: 3 };
const CLASS_NAMES: readonly StunClass[] = ['request', 'indication', 'success', 'error'];

/** Attribute types (RFC 5389 18.2, RFC 5766 14). Below 0x8000: comprehension-required. */
export const AttributeType = {
  mappedAddress: 0x0001,
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  channelNumber: 0x000c,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  evenPort: 0x0018,
  requestedTransport: 0x0019,
  dontFragment: 0x001a,
  xorMappedAddress: 0x0020,
  reservationToken: 0x0022,
  software: 0x8022,
  fingerprint: 0x8028,
} as const;

const KNOWN_ATTRIBUTES: ReadonlySet<number> = new Set(Object.values(AttributeType));

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  class: StunClass;
  /** 96 bits */
  transactionId: Buffer;
  /** in wire order, without MESSAGE-INTEGRITY and FINGERPRINT (the encoder adds those) */
  attributes: StunAttribute[];
}

export interface DecodedStunMessage extends StunMessage {
  /** the datagram: MESSAGE-INTEGRITY and FINGERPRINT are checked over its exact bytes */
  raw: Buffer;
  /** offset of the MESSAGE-INTEGRITY attribute, when present */
  integrityOffset?: number;
  /** offset of the FINGERPRINT attribute, when present */
  fingerprintOffset?: number;
}

export class StunDecodeError extends Error {
  override readonly name = 'StunDecodeError';
}

export function newTransactionId(): Buffer {
  return randomBytes(12);
}

const padded = (length: number) => (length + 3) & ~3;

// ---------------------------------------------------------------------------------------------
// Message type: the method's 12 bits are interleaved with the class's 2 bits (RFC 5389 6).

export function messageType(method: number, cls: StunClass): number {
  const c = CLASS_BITS[cls];
  return (
    (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
  );
}

export function splitMessageType(type: number): { method: number; class: StunClass } {
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const c = ((type >> 4) & 1) | ((type >> 7) & 2);
  return { method, class: CLASS_NAMES[c]! };
}

// ---------------------------------------------------------------------------------------------
// Whole messages

function header(type: number, bodyLength: number, transactionId: Buffer): Buffer {
  if (transactionId.length !== 12) throw new RangeError('a STUN transaction id is 96 bits');
  const head = Buffer.alloc(HEADER_LENGTH);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(bodyLength, 2);
  head.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(head, 8);
  return head;
}

function encodeAttribute({ type, value }: StunAttribute): Buffer {
  if (value.length > 0xffff) throw new RangeError(`STUN attribute 0x${type.toString(16)} is too long`);
  const out = Buffer.alloc(4 + padded(value.length)); // zero padding
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

/** The first `end` bytes of a message with its length field set as if the message ended at `lengthEnd`. */
function prefixWithLength(message: Buffer, end: number, lengthEnd: number): Buffer {
  const prefix = Buffer.from(message.subarray(0, end));
  prefix.writeUInt16BE(lengthEnd - HEADER_LENGTH, 2);
  return prefix;
}

function integrityOver(message: Buffer, offset: number, key: Buffer): Buffer {
  const covered = prefixWithLength(message, offset, offset + 4 + INTEGRITY_LENGTH);
  return createHmac('sha1', key).update(covered).digest();
}

function fingerprintOver(message: Buffer, offset: number): number {
  return (crc32(prefixWithLength(message, offset, offset + 8)) ^ FINGERPRINT_XOR) >>> 0;
}

export interface EncodeOptions {
  /** append MESSAGE-INTEGRITY with this key (longTermKey, or the password for short-term) */
  integrityKey?: Buffer;
  /** append FINGERPRINT */
  fingerprint?: boolean;
}

export function encodeMessage(message: StunMessage, options: EncodeOptions = {}): Buffer {
  const body = Buffer.concat(message.attributes.map(encodeAttribute));
  let out = Buffer.concat([
    header(messageType(message.method, message.class), body.length, message.transactionId),
    body,
  ]);
  if (options.integrityKey) {
    const mac = integrityOver(out, out.length, options.integrityKey);
    out = Buffer.concat([out, encodeAttribute({ type: AttributeType.messageIntegrity, value: mac })]);
    out.writeUInt16BE(out.length - HEADER_LENGTH, 2);
  }
  if (options.fingerprint) {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(fingerprintOver(out, out.length));
    out = Buffer.concat([out, encodeAttribute({ type: AttributeType.fingerprint, value: crc })]);
    out.writeUInt16BE(out.length - HEADER_LENGTH, 2);
  }
  return out;
}

export function decodeMessage(datagram: Buffer): DecodedStunMessage {
  if (datagram.length < HEADER_LENGTH) throw new StunDecodeError('shorter than a STUN header');
  const type = datagram.readUInt16BE(0);
  const length = datagram.readUInt16BE(2);
  if ((type & 0xc000) !== 0) throw new StunDecodeError('not a STUN message (first two bits set)');
  if (datagram.readUInt32BE(4) !== MAGIC_COOKIE) throw new StunDecodeError('no STUN magic cookie');
  if (length % 4 !== 0 || HEADER_LENGTH + length !== datagram.length) {
    throw new StunDecodeError(`length field ${length} does not match a ${datagram.length}-byte datagram`);
  }
  const decoded: DecodedStunMessage = {
    ...splitMessageType(type),
    transactionId: Buffer.from(datagram.subarray(8, HEADER_LENGTH)),
    attributes: [],
    raw: datagram,
  };
  let offset = HEADER_LENGTH;
  while (offset < datagram.length) {
    if (decoded.fingerprintOffset !== undefined) throw new StunDecodeError('attribute after FINGERPRINT');
    if (offset + 4 > datagram.length) throw new StunDecodeError('truncated attribute header');
    const attrType = datagram.readUInt16BE(offset);
    const attrLength = datagram.readUInt16BE(offset + 2);
    if (offset + 4 + padded(attrLength) > datagram.length) {
      throw new StunDecodeError(`attribute 0x${attrType.toString(16)} runs past the message`);
    }
    const value = Buffer.from(datagram.subarray(offset + 4, offset + 4 + attrLength));
    if (attrType === AttributeType.fingerprint) {
      if (attrLength !== 4) throw new StunDecodeError('FINGERPRINT is not 4 bytes');
      decoded.fingerprintOffset = offset;
    } else if (decoded.integrityOffset !== undefined) {
      // RFC 5389 15.4: after MESSAGE-INTEGRITY, everything but FINGERPRINT is ignored.
    } else if (attrType === AttributeType.messageIntegrity) {
      if (attrLength !== INTEGRITY_LENGTH) throw new StunDecodeError('MESSAGE-INTEGRITY is not 20 bytes');
      decoded.integrityOffset = offset;
    } else {
      decoded.attributes.push({ type: attrType, value });
    }
    offset += 4 + padded(attrLength);
  }
  return decoded;
}

/** False when MESSAGE-INTEGRITY is absent or does not match `key`. */
export function integrityMatches(message: DecodedStunMessage, key: Buffer): boolean {
  const offset = message.integrityOffset;
  if (offset === undefined) return false;
  const expected = integrityOver(message.raw, offset, key);
  return timingSafeEqual(expected, message.raw.subarray(offset + 4, offset + 4 + INTEGRITY_LENGTH));
}

/** False when FINGERPRINT is absent or wrong. */
export function fingerprintMatches(message: DecodedStunMessage): boolean {
  const offset = message.fingerprintOffset;
  if (offset === undefined) return false;
  return message.raw.readUInt32BE(offset + 4) === fingerprintOver(message.raw, offset);
}

/** Comprehension-required attributes this codec does not know: a response carrying any is unusable. */
export function unknownRequiredAttributes(message: StunMessage): number[] {
  return message.attributes.map((a) => a.type).filter((t) => t < 0x8000 && !KNOWN_ATTRIBUTES.has(t));
}

export function attribute(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((a) => a.type === type)?.value;
}

export function textAttribute(message: StunMessage, type: number): string | undefined {
  return attribute(message, type)?.toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Keys and checksums

/**
 * The long-term credential key: MD5("username:realm:password") (RFC 5389 15.4). The password is
 * used as given, without SASLprep, as coturn does (turnadmin stores this key in hex).
 */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

const CRC32_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 of ISO 3309 / ITU-T V.42 (the zlib one), as FINGERPRINT requires. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC32_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
