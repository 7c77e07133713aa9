import { describe, expect, it } from 'vitest';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { parseJailStatus, renderStatusText, statusRows } from '../status.js';

// fail2ban 1.0 (the lab, current appliances)
const CURRENT = [
  'Status for the jail: pexiprp',
  '|- Filter',
  '|  |- Currently failed:\t1',
  '|  |- Total failed:\t5',
  '|  `- File list:\t/var/log/nginx/api.access.log',
  '`- Actions',
  '   |- Currently banned:\t2',
  '   |- Total banned:\t3',
  '   `- Banned IP list:\t198.51.100.23 203.0.113.7',
  '',
].join('\n');

// fail2ban 0.8 (Ubuntu 14.04, the v4 guide's era)
const OLD = [
  'Status for the jail: pexiprp',
  '|- filter',
  '|  |- File list:\t/var/log/nginx/api.access.log ',
  '|  |- Currently failed:\t0',
  '|  `- Total failed:\t12',
  '`- action',
  '   |- Currently banned:\t1',
  '   |  `- IP list:\t198.51.100.23 ',
  '   `- Total banned:\t1',
  '',
].join('\n');

describe('fail2ban-client status pexiprp', () => {
  it('reads the counts and banned addresses of current and old fail2ban', () => {
    expect(parseJailStatus(CURRENT, 0)).toEqual({
      currentlyFailed: 1,
      totalFailed: 5,
      currentlyBanned: 2,
      totalBanned: 3,
      bannedAddresses: ['198.51.100.23', '203.0.113.7'],
    });
    expect(parseJailStatus(OLD, 0)).toEqual({
      currentlyFailed: 0,
      totalFailed: 12,
      currentlyBanned: 1,
      totalBanned: 1,
      bannedAddresses: ['198.51.100.23'],
    });
    expect(parseJailStatus(CURRENT.replace('198.51.100.23 203.0.113.7', ''), 0)).toMatchObject({
      bannedAddresses: [],
    });
  });

  it('takes "unable to contact the server" for not running, in the guide’s and the current wording', () => {
    expect(parseJailStatus('ERROR  Unable to contact server. Is it running?\n', 255)).toBe('not-running');
    expect(
      parseJailStatus(
        '2026-11-21 01:00:46,217 fail2ban [128]: ERROR   Failed to access socket path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?\n',
        255,
      ),
    ).toBe('not-running');
  });

  it('reports a missing jail or unreadable output as an error of that host', () => {
    expect(() => parseJailStatus("Sorry but the jail 'pexiprp' does not exist\n", 255)).toThrow(
      "fail2ban-client status pexiprp failed (exit 255): Sorry but the jail 'pexiprp' does not exist",
    );
    expect(() => parseJailStatus('Status for the jail: pexiprp\n', 0)).toThrow(
      /cannot read "Currently failed"/,
    );
  });

  it('renders one row per host, with errors named below the table', () => {
    const host = (name: string, rc: string, status: string, code: number) => ({
      name,
      status: 'in-sync',
      facts: fakeFacts({
        commands: { 'fail2ban.state': rc, 'fail2ban.jail-status': { code, output: status } },
      }),
    });
    const rows = statusRows([
      host('rp1', 'rc2 S\nrc3 S\nrc4 S\nrc5 S\n', CURRENT, 0),
      host('rp2', 'rc2 -\nrc3 -\nrc4 -\nrc5 -\n', 'ERROR  Unable to contact server. Is it running?', 255),
      { name: 'rp3', status: 'unreachable', error: { message: 'rp3: cannot connect: ECONNREFUSED' } },
    ]);
    expect(rows[1]).toEqual({ name: 'rp2', enabled: false, running: false });
    expect(renderStatusText(rows)).toBe(
      [
        'HOST  ENABLED  RUNNING  FAILED  TOTAL FAILED  BANNED  TOTAL BANNED  BANNED ADDRESSES',
        'rp1   yes      yes      1       5             2       3             198.51.100.23 203.0.113.7',
        'rp2   no       no       -       -             -       -             -',
        'rp3   ?        ?        -       -             -       -             -',
        'rp3: UNREACHABLE: rp3: cannot connect: ECONNREFUSED',
        '',
      ].join('\n'),
    );
  });
});
