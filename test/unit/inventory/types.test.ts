import { describe, expect, it } from 'vitest';
import {
  cidr,
  host,
  hostname,
  hostnameLabel,
  intRange,
  ipAddress,
  ipv4,
  ipv6,
  jumpHost,
  netmask,
  port,
  remotePath,
  serial,
  sshHost,
} from '../../../src/inventory/types.js';

// Strings an attacker (or a bad paste) could put where a value reaches a remote shell.
const HOSTILE = [
  '10.0.0.1; reboot',
  '10.0.0.1\n',
  '10.0.0.1 && id',
  '$(id)',
  '`id`',
  "host'name",
  'host"name',
  'host name',
  'host\tname',
  '-oProxyCommand=id',
  'host|id',
  'host>x',
  'host\0',
  'hést.example.com',
  '',
];

const accepts = (type: { safeParse(v: unknown): { success: boolean } }, value: unknown) =>
  type.safeParse(value).success;

describe('value types', () => {
  it.each([
    [
      ipv4,
      ['10.0.0.1', '0.0.0.0', '255.255.255.255'],
      ['10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4.5', '::1'],
    ],
    [
      ipv6,
      ['::1', '2001:db8::1', 'fe80::1:2', '::ffff:10.0.0.1'],
      ['fe80::1%eth0', '2001:db8:::1', '10.0.0.1', 'g::1'],
    ],
    [ipAddress, ['10.0.0.1', '2001:db8::1'], ['example.com', '10.0.0.1/24']],
    [
      hostname,
      [
        'rp1',
        'rp-1.example.com',
        'a'.repeat(63),
        `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
      ],
      ['-rp1', 'rp1-', 'a'.repeat(64), 'rp_1', 'rp1..example.com', '10.0.0.300', `${'a.'.repeat(126)}ab`],
    ],
    [hostnameLabel, ['rp1', 'proxy-01'], ['rp1.example.com', '-x']],
    [host, ['10.0.0.1', '::1', 'conf-node1.example.com'], ['10.0.0.256', 'node_1']],
    [sshHost, ['10.0.0.1', 'rp1', 'rp_lab_1'], ['-oProxyCommand=id', '999.1.1.1']],
    [
      cidr,
      ['10.0.0.0/24', '0.0.0.0/0', '10.0.0.1/32', '2001:db8::/32', '::/0'],
      ['10.0.0.0/33', '10.0.0.0', '2001:db8::/129', '10.0.0.0/024', 'x/8'],
    ],
    [
      netmask,
      ['255.255.255.0', '255.255.252.0', '0.0.0.0', '255.255.255.255'],
      ['255.0.255.0', '255.255.255.1', '24'],
    ],
    [remotePath, ['/etc/nginx/ssl/pexip.pem', '/tmp/a b'], ['etc/x', '/etc/x\nid']],
  ])('%#: accepts valid values and rejects the rest', (type, good, bad) => {
    for (const value of good) expect(accepts(type, value), `accepts ${JSON.stringify(value)}`).toBe(true);
    for (const value of bad) expect(accepts(type, value), `rejects ${JSON.stringify(value)}`).toBe(false);
  });

  it.each([ipv4, ipv6, ipAddress, hostname, hostnameLabel, host, sshHost, cidr, netmask, jumpHost])(
    '%#: rejects hostile strings',
    (type) => {
      for (const value of HOSTILE)
        expect(accepts(type, value), `rejects ${JSON.stringify(value)}`).toBe(false);
    },
  );

  it('says what is wrong, with the value quoted and escaped, in one line', () => {
    const result = ipv4.safeParse('10.0.0.1\n; reboot');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('"10.0.0.1\\n; reboot" is not an IPv4 address (a.b.c.d)');
    expect(cidr.safeParse('10.0.0.0/40').error?.issues[0]?.message).toBe(
      '"10.0.0.0/40": the prefix must be 0-32 for an IPv4 network',
    );
  });

  it('checks ports and integer ranges', () => {
    expect(accepts(port, 1)).toBe(true);
    expect(accepts(port, 65535)).toBe(true);
    for (const bad of [0, 65536, 22.5, '22', -1]) expect(accepts(port, bad)).toBe(false);
    const range = intRange(1, 10);
    expect(range.safeParse(11).error?.issues[0]?.message).toBe('must be a whole number from 1 to 10');
  });

  it('parses serial as N or N%', () => {
    expect(serial.parse(1)).toEqual({ count: 1 });
    expect(serial.parse('3')).toEqual({ count: 3 });
    expect(serial.parse('25%')).toEqual({ percent: 25 });
    expect(serial.parse('100%')).toEqual({ percent: 100 });
    for (const bad of [0, '0', '0%', '101%', '1.5', 1.5, '-1', '%', '10 %', '1;id']) {
      expect(accepts(serial, bad), `rejects ${JSON.stringify(bad)}`).toBe(false);
    }
  });

  it('parses jump hosts as [user@]host[:port]', () => {
    expect(jumpHost.parse('bastion')).toEqual({ host: 'bastion' });
    expect(jumpHost.parse('pexip@bastion.example.com:2222')).toEqual({
      host: 'bastion.example.com',
      port: 2222,
      user: 'pexip',
    });
    expect(jumpHost.parse('ops@[2001:db8::1]:22')).toEqual({ host: '2001:db8::1', port: 22, user: 'ops' });
    expect(jumpHost.parse('10.0.0.9')).toEqual({ host: '10.0.0.9' });
    for (const bad of [
      '',
      '@bastion',
      'a@b@c',
      'bastion:0',
      'bastion:65536',
      '2001:db8::1',
      '[bastion]',
      '-J@x',
      'us er@x',
    ]) {
      expect(accepts(jumpHost, bad), `rejects ${JSON.stringify(bad)}`).toBe(false);
    }
  });
});
