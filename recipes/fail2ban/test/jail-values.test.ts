/**
 * The pexiprp jail's effective values computed from jail files, table-driven. Each expectation is
 * what `fail2ban-client -c DIR -d` (fail2ban 1.0.2, Debian 12) printed for the same file set; the
 * lab test fail2ban-jail-values.test.ts checks the computation against that command on Debian's
 * own jail.conf.
 */
import { describe, expect, it } from 'vitest';
import { effectiveJailValues, JailConfigError, type JailFile, jailReadOrder } from '../jail-values.js';

const D = '/etc/fail2ban';

// Debian's jail.conf, cut to what these keys depend on (its [DEFAULT] values, an include).
const jailConf = `[INCLUDES]
before = paths-debian.conf

[DEFAULT]
# "bantime" is the number of seconds that a host is banned.
bantime  = 10m
findtime  = 10m
maxretry = 5
maxmatches = %(maxretry)s

[sshd]
port    = ssh
`;

// The appliance's jail.local as shipped.
const jailLocal = `[DEFAULT]
# Seconds an address stays banned
bantime = 300
findtime = 300

[sshd]
enabled = true

[pexiprp]
# Failed PIN entries on PIN-protected conferences
enabled = true
filter = pexiprp
maxretry = 10
`;

const debianDefaults = '[sshd]\nenabled = true\n';

const files = (extra: Record<string, string>, local = jailLocal): JailFile[] =>
  Object.entries({
    'jail.conf': jailConf,
    'jail.d/defaults-debian.conf': debianDefaults,
    'jail.local': local,
    ...extra,
  }).map(([name, text]) => ({ path: `${D}/${name}`, text }));

const cases: { what: string; files: JailFile[]; expected: Record<string, string> }[] = [
  {
    what: 'the appliance as shipped',
    files: files({}),
    expected: { bantime: '300', findtime: '300', maxretry: '10' },
  },
  {
    what: "jail.conf's [DEFAULT] when jail.local sets none, as written (10m stays 10m)",
    files: files({}, jailLocal.replace('bantime = 300\n', '').replace('findtime = 300\n', '')),
    expected: { bantime: '10m', findtime: '10m', maxretry: '10' },
  },
  {
    what: 'a jail.d/*.local override of the jail, read after jail.local',
    files: files({ 'jail.d/zz.local': '[pexiprp]\nbantime = 1h\n' }),
    expected: { bantime: '1h', findtime: '300', maxretry: '10' },
  },
  {
    what: "a jail's own value from jail.d/*.conf over jail.local's later [DEFAULT]",
    files: files({ 'jail.d/aa.conf': '[pexiprp]\nbantime = 1h\n' }),
    expected: { bantime: '1h', findtime: '300', maxretry: '10' },
  },
  {
    what: 'a jail.d/*.local [DEFAULT] after jail.local',
    files: files({ 'jail.d/zz.local': '[DEFAULT]\nbantime = 2h\n' }),
    expected: { bantime: '2h', findtime: '300', maxretry: '10' },
  },
  {
    what: 'a jail.d/*.conf [DEFAULT] before jail.local, which wins',
    files: files({ 'jail.d/aa.conf': '[DEFAULT]\nbantime = 2h\nmaxretry = 3\n' }),
    expected: { bantime: '300', findtime: '300', maxretry: '10' },
  },
  {
    what: '%(name)s from the same section',
    files: files({}, jailLocal.replace('maxretry = 10', 'maxretry = %(m)s\nm = 7')),
    expected: { bantime: '300', findtime: '300', maxretry: '7' },
  },
  {
    what: '%(name)s from [DEFAULT]',
    files: files({}, jailLocal.replace('findtime = 300', 'findtime = %(bantime)s')),
    expected: { bantime: '300', findtime: '300', maxretry: '10' },
  },
  {
    what: '%(known/name)s with no earlier value in the jail: [DEFAULT]',
    files: files({}, jailLocal.replace('maxretry = 10', 'maxretry = %(known/maxretry)s')),
    expected: { bantime: '300', findtime: '300', maxretry: '5' },
  },
  {
    what: '%(known/name)s: the jail value of the files before',
    files: files({ 'jail.d/zz.local': '[pexiprp]\nmaxretry = %(known/maxretry)s0\n' }),
    expected: { bantime: '300', findtime: '300', maxretry: '100' },
  },
  {
    what: 'the jail without maxretry: [DEFAULT] (jail.conf)',
    files: files({}, jailLocal.replace('maxretry = 10\n', '')),
    expected: { bantime: '300', findtime: '300', maxretry: '5' },
  },
  {
    what: "an included file's [DEFAULT], read before the file naming it",
    files: [
      ...files({}, jailLocal.replace('bantime = 300\n', '')),
      { path: `${D}/paths-debian.conf`, text: '[DEFAULT]\nbantime = 99\n' },
    ],
    expected: { bantime: '10m', findtime: '300', maxretry: '10' },
  },
  {
    what: 'comments, an inline ; comment, option names in capitals, a colon',
    files: files({ 'jail.d/zz.local': '# a comment\n; another\n[pexiprp]\nBanTime: 600 ; ten minutes\n' }),
    expected: { bantime: '600', findtime: '300', maxretry: '10' },
  },
];

describe('effectiveJailValues', () => {
  it.each(cases)('$what', ({ files: set, expected }) => {
    expect(effectiveJailValues(set, 'pexiprp')).toEqual(expected);
  });

  it('names what refers to nothing, as fail2ban refuses to load it', () => {
    const set = files({}, jailLocal.replace('maxretry = 10', 'maxretry = %(nothing)s'));
    expect(() => effectiveJailValues(set, 'pexiprp')).toThrow(
      new JailConfigError('[pexiprp] maxretry: %(nothing)s names no option'),
    );
  });

  it('names the file and line of a line it cannot read', () => {
    const set = files({ 'jail.d/zz.local': '[pexiprp]\nthis is not an option\n' });
    expect(() => effectiveJailValues(set, 'pexiprp')).toThrow(`${D}/jail.d/zz.local:2`);
  });
});

describe('jailReadOrder', () => {
  it('reads jail.conf, jail.d/*.conf, jail.local, jail.d/*.local, each group by name', () => {
    const paths = [
      'jail.d/b.local',
      'jail.local',
      'jail.d/b.conf',
      'jail.conf',
      'jail.d/a.local',
      'jail.d/a.conf',
    ];
    expect(jailReadOrder(paths.map((p) => `${D}/${p}`))).toEqual(
      ['jail.conf', 'jail.d/a.conf', 'jail.d/b.conf', 'jail.local', 'jail.d/a.local', 'jail.d/b.local'].map(
        (p) => `${D}/${p}`,
      ),
    );
  });
});
