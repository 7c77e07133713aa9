/**
 * The fail2ban recipe and `rpctl fail2ban` against real appliances of both generations (issue 8):
 * tune and enable, a real ban from failed-PIN log lines (recorded by the lab's action, never in a
 * firewall), disable, idempotence, byte-exact jail.local edits, and refused input.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jailLocal } from './files.js';
import { labSh, readState, reset, spec } from './lab.js';
import { type InventoryDoc, labInventoryFile, rpctl } from './rpctl.js';

const appliances = readState()!.appliances;
const v4 = appliances.find((a) => a.generation === 'v4')!.name;
const v7 = appliances.find((a) => a.generation === 'v7')!.name;
const ATTACKER = '198.51.100.23'; // documentation address: only ever written into a log file
const JAIL = '/etc/fail2ban/jail.local';

interface StatusRow {
  name: string;
  enabled: boolean;
  running: boolean;
  currentlyFailed?: number;
  totalFailed?: number;
  currentlyBanned?: number;
  totalBanned?: number;
  bannedAddresses?: string[];
  error?: string;
}

interface ReportHost {
  name: string;
  status: string;
  changes: { recipe: string; summary: string; disruptive: boolean }[];
}

async function status(host: string): Promise<{ row: StatusRow; text: string }> {
  const inventory = labInventoryFile();
  const json = await rpctl(['fail2ban', 'status', '-i', inventory, '--limit', host, '--format', 'json']);
  expect(json.code, json.stderr).toBe(0);
  const text = await rpctl(['fail2ban', 'status', '-i', inventory, '--limit', host]);
  expect(text.code, text.stderr).toBe(0);
  return { row: JSON.parse(json.stdout).hosts[0], text: text.stdout };
}

/** A one-off `rpctl fail2ban VERB` on one appliance, its JSON report's host. */
async function oneOff(verb: string, host: string, ...flags: string[]): Promise<ReportHost> {
  const args = ['fail2ban', verb, '-i', labInventoryFile(), '--limit', host, '--yes', '--format', 'json'];
  const result = await rpctl([...args, ...flags]);
  expect(result.code, result.stderr + result.stdout).toBe(0);
  return JSON.parse(result.stdout).hosts[0];
}

/** `rpctl apply` of the fail2ban recipe with `section` as the appliance's inventory. */
async function applySection(host: string, section: Record<string, unknown>): Promise<ReportHost> {
  const inventory = labInventoryFile((doc: InventoryDoc) => {
    doc.appliances[host].fail2ban = section;
  });
  const result = await rpctl([
    'apply',
    '-i',
    inventory,
    '--limit',
    host,
    '--recipes',
    'fail2ban',
    '--yes',
    '--format',
    'json',
  ]);
  expect(result.code, result.stderr + result.stdout).toBe(0);
  return JSON.parse(result.stdout).hosts[0];
}

const serverPid = (host: string) =>
  labSh(host, 'cat /var/run/fail2ban/fail2ban.pid 2>/dev/null || true').trim();
const serverRunning = (host: string) => labSh(host, 'pgrep -x fail2ban-server || true').trim() !== '';
const bootLinks = (host: string) =>
  labSh(host, 'ls /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d | grep fail2ban | sort -u').trim();
const authLog = (host: string) => labSh(host, 'cat /var/log/auth.log');

/** sshd's log once it has stopped growing (the lab's readiness probe may still be logging its close). */
async function settledAuthLog(host: string): Promise<string> {
  let last = authLog(host);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = authLog(host);
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** The host's own firewall, as the lab's machine sees it (never the appliance's guarded commands). */
function hostFirewall(): string {
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return r.error ? `${cmd}: not installed` : `${cmd}: ${r.status}\n${r.stdout}`;
  };
  return [run('iptables', ['-S']), run('ip6tables', ['-S']), run('nft', ['list', 'ruleset'])].join('\n');
}

/** A failed PIN as the appliance's nginx logs it (log_format pexapplog), at the current time. */
function failedPinLine(address: string, host: string, now = new Date()): string {
  const month = now.toLocaleString('en', { month: 'short', timeZone: 'UTC' });
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(now.getUTCDate())}/${month}/${now.getUTCFullYear()}:${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())} +0000`;
  return `${address} - - [${time}]  "POST /api/client/v2/conferences/meet.alice/request_token HTTP/1.1" 403 56 "https://${host}.${spec(host).domain}/webapp/" "Mozilla/5.0" "127.0.3.10:443" "403" "0.006"\n`;
}

describe.each([
  ['v4', v4],
  ['v7', v7],
])('fail2ban on a %s appliance (%s)', (_generation, host) => {
  beforeAll(async () => {
    await reset([host]);
  });
  afterAll(async () => {
    await reset([host]);
  });

  it('tunes maxretry, bantime and findtime, keeping every other byte of jail.local', async () => {
    const mode = labSh(host, `stat -c '%a %U %G' ${JAIL}`);
    const report = await oneOff('tune', host, '--maxretry', '4', '--bantime', '600', '--findtime', '120');
    expect(report.status).toBe('changed');
    expect(report.changes.map((c) => c.summary)).toEqual([
      'jail.local: [DEFAULT] bantime 300 -> 600, [DEFAULT] findtime 300 -> 120, [pexiprp] maxretry 10 -> 4 (fail2ban is not running: read at its next start)',
    ]);
    const expected = jailLocal
      .replace('bantime = 300', 'bantime = 600')
      .replace('findtime = 300', 'findtime = 120')
      .replace('maxretry = 10', 'maxretry = 4');
    expect(labSh(host, `cat ${JAIL}`)).toBe(expected);
    expect(labSh(host, `stat -c '%a %U %G' ${JAIL}`)).toBe(mode);
    // tuning a stopped fail2ban writes the file for its next start and starts nothing
    expect(serverRunning(host)).toBe(false);
  });

  it('enables it as the guide does (not disruptive); a second apply changes and restarts nothing', async () => {
    const report = await oneOff('enable', host, '--maxretry', '4');
    expect(report.changes).toEqual([
      {
        recipe: 'fail2ban',
        summary: 'enable fail2ban (update-rc.d fail2ban enable, /etc/init.d/fail2ban restart)',
        disruptive: false,
        deferred: false,
        kind: 'intentional', // the inventory asked for it (not drift being corrected)
      },
    ]);
    expect(bootLinks(host)).toBe('S01fail2ban');
    const pid = serverPid(host);
    expect(pid).toMatch(/^\d+$/);

    const again = await oneOff('enable', host, '--maxretry', '4');
    expect([again.status, again.changes]).toEqual(['in-sync', []]);
    const fromInventory = await applySection(host, {
      enabled: true,
      maxretry: 4,
      bantime: 600,
      findtime: 120,
    });
    expect([fromInventory.status, fromInventory.changes]).toEqual(['in-sync', []]);
    expect(serverPid(host)).toBe(pid);
  });

  it('bans an address after 4 failed PINs, shown by rpctl fail2ban status; the host firewall is untouched', async () => {
    const firewall = hostFirewall();
    labSh(host, 'cat >> /var/log/nginx/api.access.log', { input: failedPinLine(ATTACKER, host).repeat(4) });
    let row: StatusRow | undefined;
    let text = '';
    for (let i = 0; i < 60 && !row?.bannedAddresses?.includes(ATTACKER); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250));
      ({ row, text } = await status(host));
    }
    expect(row).toEqual({
      name: host,
      enabled: true,
      running: true,
      currentlyFailed: 0,
      totalFailed: 4,
      currentlyBanned: 1,
      totalBanned: 1,
      bannedAddresses: [ATTACKER],
    });
    expect(text).toMatch(
      new RegExp(`^${host} +yes +yes +0 +4 +1 +1 +${ATTACKER.replaceAll('.', '\\.')}$`, 'm'),
    );
    // the lab's action recorded the ban; no firewall rule was made anywhere
    expect(labSh(host, 'cat /var/log/fail2ban-lab-bans.log')).toMatch(new RegExp(`ban ${ATTACKER} pexiprp`));
    expect(hostFirewall()).toBe(firewall);
  });

  it('restarts a running fail2ban once when a value changes, and not again', async () => {
    const pid = serverPid(host);
    const report = await oneOff('tune', host, '--findtime', '300');
    expect(report.changes.map((c) => c.summary)).toEqual(['jail.local: [DEFAULT] findtime 120 -> 300']);
    const restarted = serverPid(host);
    expect(restarted).toMatch(/^\d+$/);
    expect(restarted).not.toBe(pid);
    const again = await oneOff('tune', host, '--findtime', '300');
    expect([again.status, again.changes]).toEqual(['in-sync', []]);
    expect(serverPid(host)).toBe(restarted);
  });

  it('puts jail.local back and restarts nothing when fail2ban’s own config test fails', async () => {
    const pid = serverPid(host);
    const jail = labSh(host, `cat ${JAIL}`);
    const filter = '/etc/fail2ban/filter.d/pexiprp.conf';
    labSh(host, `mv ${filter} ${filter}.away`);
    try {
      const args = [
        'fail2ban',
        'tune',
        '-i',
        labInventoryFile(),
        '--limit',
        host,
        '--maxretry',
        '7',
        '--yes',
      ];
      const result = await rpctl(args);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        new RegExp(
          `${host}: FAILED\n  validation \`fail2ban-client -t\` failed: .*pexiprp.*; previous files restored`,
        ),
      );
    } finally {
      labSh(host, `mv ${filter}.away ${filter}`);
    }
    expect(labSh(host, `cat ${JAIL}`)).toBe(jail);
    expect(serverPid(host)).toBe(pid);
  });

  it('disables it: stopped, not started at boot, status says not running; a second apply changes nothing', async () => {
    const report = await oneOff('disable', host);
    expect(report.changes.map((c) => c.summary)).toEqual([
      'disable fail2ban (update-rc.d fail2ban disable, /etc/init.d/fail2ban stop)',
    ]);
    expect(serverRunning(host)).toBe(false);
    expect(bootLinks(host)).toBe('K01fail2ban');
    const { row, text } = await status(host);
    expect(row).toEqual({ name: host, enabled: false, running: false });
    expect(text).toMatch(new RegExp(`^${host} +no +no +- `, 'm'));
    const again = await applySection(host, { enabled: false, maxretry: 4 });
    expect([again.status, again.changes]).toEqual(['in-sync', []]);
  });
});

describe('fail2ban input', () => {
  beforeAll(async () => {
    await reset([v4]);
  });
  afterAll(async () => {
    await reset([v4]);
  });

  it('refuses maxretry 0, a negative bantime and a findtime that is not a number: exit 3, no contact', async () => {
    const before = await settledAuthLog(v4);
    const section = (values: Record<string, unknown>) =>
      labInventoryFile((doc: InventoryDoc) => {
        doc.appliances[v4].fail2ban = values;
      });
    const cases: [string[], RegExp][] = [
      [
        ['apply', '-i', section({ maxretry: 0 }), '--yes'],
        /:\d+:\d+: appliances\.lab-\d+\.fail2ban\.maxretry: must be a whole number from 1 to 1000/,
      ],
      [
        ['plan', '-i', section({ bantime: -30 })],
        /fail2ban\.bantime: must be whole seconds from 1 to 31536000/,
      ],
      [['plan', '-i', section({ bantime: -1 })], /fail2ban\.bantime: a permanent ban \(-1\) is refused/],
      [
        ['plan', '-i', section({ findtime: 'ten' })],
        /fail2ban\.findtime: must be whole seconds from 1 to 604800/,
      ],
      [
        ['fail2ban', 'tune', '-i', labInventoryFile(), '--limit', v4, '--maxretry', '0', '--yes'],
        /--maxretry: expected a whole number from 1 to 1000, got "0"/,
      ],
      [
        ['fail2ban', 'tune', '-i', labInventoryFile(), '--limit', v4, '--bantime', '-5', '--yes'],
        /--bantime: expected whole seconds from 1 to 31536000, got "-5"/,
      ],
      [
        ['fail2ban', 'enable', '-i', labInventoryFile(), '--limit', v4, '--findtime', 'ten', '--yes'],
        /--findtime: expected whole seconds from 1 to 604800, got "ten"/,
      ],
      [['fail2ban', 'enable', '-i', labInventoryFile(), '--yes'], /--limit is required/],
    ];
    for (const [args, message] of cases) {
      const result = await rpctl(args);
      expect([result.code, result.stderr], args.join(' ')).toEqual([3, expect.stringMatching(message)]);
      expect(messageLines(result.stderr)).toHaveLength(1);
    }
    // sshd saw nothing at all: no connection, let alone a login
    expect(authLog(v4).slice(before.length)).toBe('');
  });

  it('refuses to enable an appliance flagged usersBehindNat unless forced, and --save records it', async () => {
    const inventory = labInventoryFile((doc: InventoryDoc) => {
      doc.appliances[v4].fail2ban = { usersBehindNat: true };
    });
    const before = await settledAuthLog(v4);
    const refused = await rpctl(['fail2ban', 'enable', '-i', inventory, '--limit', v4, '--yes']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      /fail2ban\.enabled: refused to enable fail2ban .*share one source address and can ban themselves out without ever entering a wrong PIN.*--force/,
    );
    expect(authLog(v4).slice(before.length)).toBe('');

    const forced = await rpctl([
      'fail2ban',
      'enable',
      '-i',
      inventory,
      '--limit',
      v4,
      '--force',
      '--save',
      '--yes',
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/warning: fail2ban: fail2ban runs on an appliance flagged usersBehindNat/);
    expect(forced.stderr).toContain(
      `saved fail2ban.enabled, fail2ban.force on appliance ${v4} in ${inventory}`,
    );
    expect(readFileSync(inventory, 'utf8')).toMatch(
      /fail2ban:\n\s+usersBehindNat: true\n\s+enabled: true\n\s+force: true\n/,
    );
    const plan = await rpctl(['plan', '-i', inventory, '--limit', v4, '--recipes', 'fail2ban']);
    expect([plan.code, plan.stdout]).toEqual([0, expect.stringContaining(`${v4}: in sync`)]);
  });
});

/** The lines of an error besides the source excerpt (`  3 | line` and its caret) that follows it. */
function messageLines(stderr: string): string[] {
  return stderr
    .trim()
    .split('\n')
    .filter((line) => !/^\s+\d* \|/.test(line));
}
