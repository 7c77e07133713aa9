/**
 * The STUN codec against RFC 5769's test vectors (bytes copied from the RFC) and round trips.
 */
import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { addressBytes, addressFromBytes } from '../client/ip-address.js';
import {
  AttributeType,
  attribute,
  crc32,
  decodeMessage,
  encodeMessage,
  fingerprintMatches,
  integrityMatches,
  longTermKey,
  messageType,
  newTransactionId,
  type StunClass,
  StunDecodeError,
  type StunMessage,
  StunMethod,
  splitMessageType,
  textAttribute,
  unknownRequiredAttributes,
} from '../client/stun.js';
import {
  decodeErrorCode,
  decodeXorAddress,
  errorCode,
  requestedTransportUdp,
  text,
  uint32,
  xorAddress,
} from '../client/stun-attributes.js';
import { turnKey } from '../client/turn-client.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 section 2.1-2.3: short-term credentials, password "VOkJxbRl1RmTxUk/WvJxBt". The RFC
// pads with spaces (0x20) on purpose: receivers must ignore what padding contains.
const SHORT_TERM_PASSWORD = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt');
const SAMPLE_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);
const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);
const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);
// RFC 5769 section 2.4: long-term credentials; the password after SASLprep is "TheMatrIX".
const LONG_TERM_REQUEST = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);

/** the bytes of the first attribute of `type` in a raw message, header included */
function rawAttribute(message: Buffer, type: number): Buffer {
  for (let offset = 20; offset < message.length; ) {
    const length = message.readUInt16BE(offset + 2);
    if (message.readUInt16BE(offset) === type) return message.subarray(offset, offset + 4 + length);
    offset += 4 + ((length + 3) & ~3);
  }
  throw new Error(`no attribute 0x${type.toString(16)}`);
}

describe('RFC 5769 test vectors', () => {
  it('2.1 sample request: attributes, MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const message = decodeMessage(SAMPLE_REQUEST);
    expect(message).toMatchObject({ method: StunMethod.binding, class: 'request' });
    expect(message.transactionId).toEqual(hex('b7e7a701 bc34d686 fa87dfae'));
    expect(textAttribute(message, AttributeType.software)).toBe('STUN test client');
    expect(textAttribute(message, AttributeType.username)).toBe('evtj:h6vY');
    // PRIORITY (0x0024) is ICE's, unknown here and comprehension-required; ICE-CONTROLLED is optional
    expect(unknownRequiredAttributes(message)).toEqual([0x0024]);
    expect(integrityMatches(message, SHORT_TERM_PASSWORD)).toBe(true);
    expect(integrityMatches(message, Buffer.from('VOkJxbRl1RmTxUk/WvJxBT'))).toBe(false);
    expect(fingerprintMatches(message)).toBe(true);
  });

  it('2.2 sample IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853, encoded byte for byte', () => {
    const message = decodeMessage(SAMPLE_IPV4_RESPONSE);
    expect(message).toMatchObject({ method: StunMethod.binding, class: 'success' });
    expect(textAttribute(message, AttributeType.software)).toBe('test vector');
    const value = attribute(message, AttributeType.xorMappedAddress)!;
    expect(decodeXorAddress(value, message.transactionId)).toEqual({ address: '192.0.2.1', port: 32853 });
    const encoded = xorAddress(
      AttributeType.xorMappedAddress,
      { address: '192.0.2.1', port: 32853 },
      message.transactionId,
    );
    expect(encoded.value).toEqual(
      rawAttribute(SAMPLE_IPV4_RESPONSE, AttributeType.xorMappedAddress).subarray(4),
    );
    expect(integrityMatches(message, SHORT_TERM_PASSWORD)).toBe(true);
    expect(fingerprintMatches(message)).toBe(true);
  });

  it('2.3 sample IPv6 response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    const message = decodeMessage(SAMPLE_IPV6_RESPONSE);
    const address = { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 };
    const value = attribute(message, AttributeType.xorMappedAddress)!;
    expect(decodeXorAddress(value, message.transactionId)).toEqual(address);
    expect(xorAddress(AttributeType.xorMappedAddress, address, message.transactionId).value).toEqual(value);
    expect(integrityMatches(message, SHORT_TERM_PASSWORD)).toBe(true);
    expect(fingerprintMatches(message)).toBe(true);
  });

  it('2.4 long-term request: decoded, checked and re-encoded byte for byte', () => {
    const username = '\u30de\u30c8\u30ea\u30c3\u30af\u30b9';
    const key = longTermKey(username, 'example.org', 'TheMatrIX');
    const message = decodeMessage(LONG_TERM_REQUEST);
    expect(textAttribute(message, AttributeType.username)).toBe(username);
    expect(textAttribute(message, AttributeType.nonce)).toBe('f//499k954d6OL34oL9FSTvy64sA');
    expect(textAttribute(message, AttributeType.realm)).toBe('example.org');
    expect(integrityMatches(message, key)).toBe(true);
    expect(message.fingerprintOffset).toBeUndefined();
    const reencoded = encodeMessage(
      {
        method: StunMethod.binding,
        class: 'request',
        transactionId: message.transactionId,
        attributes: [
          text(AttributeType.username, username),
          text(AttributeType.nonce, 'f//499k954d6OL34oL9FSTvy64sA'),
          text(AttributeType.realm, 'example.org'),
        ],
      },
      { integrityKey: key },
    );
    expect(reencoded.toString('hex')).toBe(LONG_TERM_REQUEST.toString('hex'));
  });

  it('finds any changed byte: FINGERPRINT or MESSAGE-INTEGRITY stops matching, or decoding fails', () => {
    for (let i = 0; i < SAMPLE_REQUEST.length; i++) {
      const changed = Buffer.from(SAMPLE_REQUEST);
      changed[i]! ^= 0x01;
      let message: ReturnType<typeof decodeMessage>;
      try {
        message = decodeMessage(changed);
      } catch (err) {
        expect(err).toBeInstanceOf(StunDecodeError);
        continue;
      }
      const intact = fingerprintMatches(message) && integrityMatches(message, SHORT_TERM_PASSWORD);
      expect(intact, `byte ${i}`).toBe(false);
    }
  });
});

describe('message type', () => {
  it('interleaves method and class bits as RFC 5389 section 6 draws them', () => {
    expect(messageType(StunMethod.binding, 'request')).toBe(0x0001);
    expect(messageType(StunMethod.binding, 'success')).toBe(0x0101);
    expect(messageType(StunMethod.allocate, 'request')).toBe(0x0003);
    expect(messageType(StunMethod.allocate, 'success')).toBe(0x0103);
    expect(messageType(StunMethod.allocate, 'error')).toBe(0x0113);
    expect(messageType(StunMethod.refresh, 'error')).toBe(0x0114);
    expect(messageType(0x006, 'indication')).toBe(0x0016); // TURN Send indication
  });

  it('splits every method and class back', () => {
    const classes: StunClass[] = ['request', 'indication', 'success', 'error'];
    for (let method = 0; method < 0x1000; method++) {
      for (const cls of classes)
        expect(splitMessageType(messageType(method, cls))).toEqual({ method, class: cls });
    }
  });
});

describe('encode and decode', () => {
  const request = (attributes: StunMessage['attributes']): StunMessage => ({
    method: StunMethod.allocate,
    class: 'request',
    transactionId: newTransactionId(),
    attributes,
  });

  it('round-trips an authenticated Allocate with padding of every length', () => {
    const key = longTermKey('pexip', 'lab.example.com', 'secret');
    const message = request([
      requestedTransportUdp(),
      uint32(AttributeType.lifetime, 600),
      ...['', 'a', 'ab', 'abc', 'abcd', 'abcde'].map((s) => text(AttributeType.software, s)),
      text(AttributeType.username, 'pexip'),
      text(AttributeType.realm, 'lab.example.com'),
      text(AttributeType.nonce, 'f3c1c4d3e1a7c2b1'),
      errorCode({ code: 438, reason: 'Stale Nonce' }),
    ]);
    const encoded = encodeMessage(message, { integrityKey: key, fingerprint: true });
    expect(encoded.length % 4).toBe(0);
    const decoded = decodeMessage(encoded);
    expect({ ...decoded, raw: undefined, integrityOffset: undefined, fingerprintOffset: undefined }).toEqual({
      ...message,
      raw: undefined,
      integrityOffset: undefined,
      fingerprintOffset: undefined,
    });
    expect(integrityMatches(decoded, key)).toBe(true);
    expect(integrityMatches(decoded, longTermKey('pexip', 'lab.example.com', 'other'))).toBe(false);
    expect(fingerprintMatches(decoded)).toBe(true);
    expect(attribute(decoded, AttributeType.requestedTransport)).toEqual(Buffer.from([17, 0, 0, 0]));
  });

  it('uses a fresh random 96-bit transaction id each time', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newTransactionId().toString('hex')));
    expect(ids.size).toBe(100);
    expect([...ids].every((id) => id.length === 24)).toBe(true);
  });

  it('ignores everything after MESSAGE-INTEGRITY but FINGERPRINT, and keeps unknown optional attributes', () => {
    const withIntegrity = encodeMessage(request([text(0x8050, 'optional')]), {
      integrityKey: Buffer.from('k'),
    });
    const trailing = Buffer.from([0x80, 0x55, 0x00, 0x04, 1, 2, 3, 4]);
    const datagram = Buffer.concat([withIntegrity, trailing]);
    datagram.writeUInt16BE(datagram.length - 20, 2);
    const decoded = decodeMessage(datagram);
    expect(decoded.attributes).toEqual([text(0x8050, 'optional')]);
    expect(unknownRequiredAttributes(decoded)).toEqual([]);
    expect(unknownRequiredAttributes(request([text(0x0042, 'x')]))).toEqual([0x0042]);
  });

  it('refuses malformed datagrams', () => {
    const good = encodeMessage(request([text(AttributeType.software, 'abc')]), { fingerprint: true });
    const edited = (edit: (b: Buffer) => void) => () => {
      const copy = Buffer.from(good);
      edit(copy);
      return decodeMessage(copy);
    };
    expect(() => decodeMessage(good.subarray(0, 19))).toThrow('shorter than a STUN header');
    expect(edited((b) => b.writeUInt8(0x40, 0))).toThrow('first two bits');
    expect(edited((b) => b.writeUInt32BE(0x2112a443, 4))).toThrow('magic cookie');
    expect(edited((b) => b.writeUInt16BE(b.readUInt16BE(2) + 4, 2))).toThrow('does not match');
    expect(edited((b) => b.writeUInt16BE(200, 22))).toThrow('runs past the message');
    const afterFingerprint = Buffer.concat([good, Buffer.from([0x80, 0x22, 0, 0])]);
    afterFingerprint.writeUInt16BE(afterFingerprint.length - 20, 2);
    expect(() => decodeMessage(afterFingerprint)).toThrow('after FINGERPRINT');
  });

  it('encodes and decodes ERROR-CODE, dropping the NUL coturn appends to its reason', () => {
    expect(errorCode({ code: 401, reason: 'Unauthorized' }).value).toEqual(
      Buffer.concat([Buffer.from([0, 0, 4, 1]), Buffer.from('Unauthorized')]),
    );
    const fromCoturn = Buffer.concat([Buffer.from([0, 0, 4, 37]), Buffer.from('Mismatched allocation\0')]);
    expect(decodeErrorCode(fromCoturn)).toEqual({ code: 437, reason: 'Mismatched allocation' });
  });
});

describe('addresses', () => {
  const id = hex('b7e7a701 bc34d686 fa87dfae');

  it('round-trips XOR addresses of both families', () => {
    const addresses = [
      '0.0.0.0',
      '203.0.113.77',
      '255.255.255.255',
      '::',
      '::1',
      '2001:db8::',
      'fe80::1:0:0:1',
    ];
    for (const address of addresses) {
      for (const port of [0, 3478, 65535]) {
        const { value } = xorAddress(AttributeType.xorRelayedAddress, { address, port }, id);
        expect(decodeXorAddress(value, id)).toEqual({ address, port });
      }
    }
  });

  /** an independent formatter: the URL parser serialises IPv6 hosts the RFC 5952 way */
  const formattedByUrl = (bytes: Buffer) => {
    const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
    return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
  };

  it('writes IPv6 as RFC 5952 text, like the WHATWG URL parser does', () => {
    expect(addressFromBytes(addressBytes('::ffff:192.0.2.1'))).toBe('::ffff:c000:201');
    expect(addressFromBytes(addressBytes('2001:0db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    for (let i = 0; i < 500; i++) {
      // runs of zero groups of every length and position
      const bytes = Buffer.alloc(16);
      for (let g = 0; g < 8; g++)
        if (Math.random() < 0.5) bytes.writeUInt16BE(Math.floor(Math.random() * 0x10000), g * 2);
      expect(addressFromBytes(bytes)).toBe(formattedByUrl(bytes));
      expect(addressBytes(addressFromBytes(bytes))).toEqual(bytes);
    }
  });
});

describe('checksums and keys', () => {
  it('computes the zlib CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    for (let i = 0; i < 50; i++) {
      const data = randomBytes(i * 7);
      expect(crc32(data)).toBe(zlibCrc32(data));
    }
  });

  it('turnKey is the hex MD5 of user:realm:password, as md5sum computes it', () => {
    // printf 'pexip:lab.example.com:secret' | md5sum
    expect(turnKey('pexip', 'lab.example.com', 'secret')).toBe('dd2434d427743f56a148b14864ace21d');
  });
});
