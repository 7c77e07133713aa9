import { describe, expect, it } from 'vitest';
import { turnserverConf } from '../../../test/lab/files.js';
import {
  describeTurnAddresses,
  externalIpValues,
  setExternalIp,
  turnAddresses,
} from '../../services/turnserver-conf.js';

const LAB = turnserverConf({
  name: 'rp1',
  index: 1,
  address: '10.40.1.5',
  generation: 'v7',
  state: 'installed',
  hostname: 'rp1',
  domain: 'vc.example.com',
  nodes: [],
  turnUser: 'pexip',
});

/** A hand-edited file: comments, a commented-out external-ip, odd spacing, no final newline. */
const EDITED = [
  '# TURN, edited by hand',
  'listening-ip=10.40.1.5',
  '#external-ip=198.51.100.1',
  'external-ip = 198.51.100.7   ',
  'realm=vc.example.com',
  'external-ip 198.51.100.8',
  'userdb=/etc/turnuserdb.conf',
].join('\n');

describe('setExternalIp', () => {
  it('appends one line to a file without one and keeps every other byte', () => {
    const out = setExternalIp(LAB, '203.0.113.5');
    expect(out).toBe(`${LAB}external-ip=203.0.113.5\n`);
    expect(setExternalIp('realm=x', '203.0.113.5')).toBe('realm=x\nexternal-ip=203.0.113.5\n');
  });

  it('leaves a file that already has exactly that address untouched', () => {
    const once = setExternalIp(LAB, '203.0.113.5');
    expect(setExternalIp(once, '203.0.113.5')).toBe(once);
    // the same IPv6 address written differently is the same address
    const v6 = setExternalIp(LAB, '2001:DB8:0::5');
    expect(setExternalIp(v6, '2001:db8::5')).toBe(v6);
  });

  it('owns exactly one line: rewrites the first in place, drops the others, keeps comments', () => {
    const out = setExternalIp(EDITED, '203.0.113.5');
    expect(out).toBe(
      [
        '# TURN, edited by hand',
        'listening-ip=10.40.1.5',
        '#external-ip=198.51.100.1',
        'external-ip=203.0.113.5',
        'realm=vc.example.com',
        'userdb=/etc/turnuserdb.conf',
      ].join('\n'),
    );
    // two lines with the wanted value are still two: coturn would take the first silently
    const twice = 'external-ip=203.0.113.5\nexternal-ip=203.0.113.5\n';
    expect(setExternalIp(twice, '203.0.113.5')).toBe('external-ip=203.0.113.5\n');
  });

  it('removes every external-ip line for null, and nothing else', () => {
    expect(setExternalIp(EDITED, null)).toBe(
      [
        '# TURN, edited by hand',
        'listening-ip=10.40.1.5',
        '#external-ip=198.51.100.1',
        'realm=vc.example.com',
        'userdb=/etc/turnuserdb.conf',
      ].join('\n'),
    );
    expect(setExternalIp(LAB, null)).toBe(LAB);
  });

  it('keeps CRLF line endings and does not take external-ipv6 or a comment for its line', () => {
    const crlf = 'realm=x\r\nexternal-ip=1.2.3.4\r\n';
    expect(setExternalIp(crlf, '203.0.113.5')).toBe('realm=x\r\nexternal-ip=203.0.113.5\r\n');
    expect(setExternalIp('realm=x\r\n', '203.0.113.5')).toBe('realm=x\r\nexternal-ip=203.0.113.5\r\n');
    expect(externalIpValues('external-ipv6=1\n# external-ip=2\n')).toEqual([]);
  });
});

describe('turnAddresses', () => {
  it('reads listening and relay addresses, port, realm and the external-ip coturn uses', () => {
    const addresses = turnAddresses(
      setExternalIp(EDITED, null).replace('realm', 'relay-ip=10.40.1.6\nrealm'),
    );
    expect(addresses).toEqual({
      listeningIps: ['10.40.1.5'],
      relayIps: ['10.40.1.6'],
      externalIp: null,
      listeningPort: 3478,
      realm: 'vc.example.com',
    });
    expect(turnAddresses(EDITED).externalIp).toBe('198.51.100.7');
    expect(turnAddresses('listening-port=443\n').listeningPort).toBe(443);
    expect(describeTurnAddresses(turnAddresses(LAB))).toBe(
      'listening on 10.40.1.5 port 3478, relaying from 10.40.1.5, external-ip none',
    );
  });
});
