/**
 * The TURN recipes against real coturn (issue 7): turn-credentials on a v4 and a v7 appliance
 * (lab-1, lab-2), turn-nat on the other two (lab-3, lab-4), and bad input that contacts nothing.
 * Every appliance a test changes is reset at the end.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clientFiles, DOMAIN, labExec, labSh, readState, reset, spec } from './lab.js';
import { acceptedLogins, labInventoryFile, rpctl, scratch, stateFiles } from './rpctl.js';
import { allocate, applyLockHolders, spawnRpctl, turnadminRuns, turnPid } from './turn-probe.js';

const names = readState()!.appliances.map((a) => a.name);
const byGeneration = (generation: 'v4' | 'v7') => names.filter((n) => spec(n).generation === generation);
const [credV4, natV4] = byGeneration('v4') as [string, string];
const [credV7, natV7] = byGeneration('v7') as [string, string];
const CRED = [credV4, credV7];
const NAT = [natV4, natV7];
const EXTERNAL_IP = '203.0.113.77'; // documentation address: only written into a config file
const labPassword = clientFiles().turnPassword();

const changed = new Set<string>();
afterAll(async () => {
  if (changed.size > 0) await reset([...changed]);
}, 300_000);

/** A new password in a file of its own; the file's path is what the inventory references. */
function passwordFile(): { password: string; file: string } {
  const password = `Turn-${randomBytes(9).toString('base64url')}9z`;
  const file = join(scratch, `turn-password-${randomBytes(3).toString('hex')}`);
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return { password, file };
}

const withTurn = (turn: Record<string, unknown>) => labInventoryFile((doc) => (doc.defaults.turn = turn));
const credentials = (file: string) => ({ credentials: { username: 'pexip', password: `file:${file}` } });
const limit = (hosts: string[]) => ['--limit', hosts.join(',')];
const json = (stdout: string) =>
  JSON.parse(stdout) as {
    hosts: { name: string; status: string; verification?: { ok: boolean }[] }[];
    summary: { changes: number };
  };

describe('turn-credentials', () => {
  it('changes the password on v4 and v7: new credentials allocate, old get 401; again: no turnadmin, 0 changes', async () => {
    for (const n of CRED) changed.add(n);
    const { password, file } = passwordFile();
    const inventory = withTurn(credentials(file));
    const runsBefore = CRED.map(turnadminRuns);
    const started = performance.now();
    const first = await rpctl(['apply', '-i', inventory, ...limit(CRED), '--yes', '--format', 'json']);
    const applyMs = performance.now() - started;
    expect(first.code, first.stderr).toBe(0);
    const report = json(first.stdout);
    expect(report.hosts.map((h) => [h.name, h.status])).toEqual(CRED.map((n) => [n, 'changed']));
    // the engine's own verification: the key on disk, an allocation, and 401 for a wrong password
    for (const host of report.hosts) expect(host.verification?.map((v) => v.ok)).toEqual([true, true, true]);
    for (const name of CRED) {
      expect(await allocate(name, password)).toMatchObject({
        outcome: 'success',
        relayedAddress: spec(name).address,
      });
      expect(await allocate(name, labPassword)).toMatchObject({ outcome: 'unauthorized' });
    }
    expect(CRED.map(turnadminRuns)).toEqual(runsBefore.map((n) => n + 1));

    const again = await rpctl(['apply', '-i', inventory, ...limit(CRED), '--yes', '--format', 'json']);
    expect(again.code).toBe(0);
    expect(json(again.stdout).summary.changes).toBe(0);
    expect(json(again.stdout).hosts.map((h) => h.status)).toEqual(['in-sync', 'in-sync']);
    expect(CRED.map(turnadminRuns)).toEqual(runsBefore.map((n) => n + 1)); // no turnadmin ran
    console.log(`credential change on ${CRED.join(' + ')}: ${applyMs.toFixed(0)} ms (apply, verified)`);
  });

  it('never shows the password: output, diffs, records, appliance logs, local command lines', async () => {
    for (const n of CRED) changed.add(n);
    const { password, file } = passwordFile();
    const inventory = withTurn(credentials(file));
    const plan = await rpctl(['plan', '-i', inventory, ...limit(CRED), '--format', 'json']);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('relaying from'); // the diff shows the TURN addresses, not secrets
    // the real process, watched from outside while it runs
    const stateDir = join(scratch, 'state-spawned');
    const run = await spawnRpctl(
      [
        'turn',
        'credentials',
        '-i',
        inventory,
        ...limit(CRED),
        '--username',
        'pexip',
        '--password-file',
        file,
        '--yes',
      ],
      { RPCTL_STATE_DIR: stateDir },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      'Reminder: update the TURN server entry in Pexip Infinity (Call Control > TURN Servers)',
    );
    expect([...run.commandLines].some((l) => l.includes('turn credentials'))).toBe(true); // the watch saw rpctl
    expect([...run.commandLines].filter((l) => l.includes(password))).toEqual([]);
    // a password typed at the prompt (twice) and confirmed, in-process
    const typed = `Typed-${randomBytes(6).toString('hex')}`;
    const answers = [typed, typed, 'yes'];
    const prompted = await rpctl(
      ['turn', 'credentials', '-i', inventory, ...limit(CRED), '--username', 'pexip'],
      {
        tty: true,
        prompt: async () => answers.shift() ?? '',
      },
    );
    expect(prompted.code, prompted.stderr).toBe(0);
    expect(await allocate(credV7, typed)).toMatchObject({ outcome: 'success' });

    const records = [...stateFiles(), ...stateFiles(stateDir)].map((f) => readFileSync(f, 'utf8'));
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const secret of [password, typed]) {
      for (const text of [
        plan.stdout,
        plan.stderr,
        run.stdout,
        run.stderr,
        prompted.stdout,
        prompted.stderr,
        ...records,
      ])
        expect(text).not.toContain(secret);
      for (const name of CRED) {
        // logs, backups and what is left in /tmp on the appliance (uploads are removed)
        const found = labExec(name, [
          'grep',
          '-rlF',
          '--',
          secret,
          '/var/log',
          '/var/backups',
          '/tmp',
          '/run',
        ]);
        expect(found.stdout).toBe('');
      }
    }
    for (const name of CRED) expect(labSh(name, 'ls -d /tmp/rpctl-* 2>/dev/null || true')).toBe('');
  });

  it('exclusive: removes every other TURN user, and they can no longer allocate', async () => {
    changed.add(credV4);
    const users = () =>
      labSh(credV4, 'sqlite3 -readonly /etc/turnuserdb.conf "select name from turnusers_lt"');
    labSh(
      credV4,
      `turnadmin -a -b /etc/turnuserdb.conf -u alice -r ${DOMAIN} -p Alice-Pass-1 >/dev/null 2>&1`,
    );
    expect(users().split('\n').filter(Boolean).sort()).toEqual(['alice', 'pexip']);
    const inventory = withTurn({
      credentials: { ...credentials(clientFiles().turnPasswordFile).credentials, exclusive: true },
    });
    const result = await rpctl(['apply', '-i', inventory, '--limit', credV4, '--yes']);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain(`remove TURN user alice@${DOMAIN}`);
    expect(users().trim()).toBe('pexip');
    expect((await allocate(credV4, 'Alice-Pass-1', 'alice')).outcome).toBe('unauthorized');
  });

  it('fails the host when the inventory realm is not the appliance’s, and changes nothing', async () => {
    const { file } = passwordFile();
    const inventory = withTurn({
      credentials: { ...credentials(file).credentials, realm: 'other.example.com' },
    });
    const runs = turnadminRuns(credV4);
    const result = await rpctl(['apply', '-i', inventory, '--limit', credV4, '--yes']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `${credV4}: FAILED\n  turn.credentials.realm is "other.example.com" but /etc/turnserver.conf has realm=${DOMAIN}`,
    );
    expect(turnadminRuns(credV4)).toBe(runs);
  });
});

describe('turn-nat', () => {
  it('defers without --allow-disruptive (exit 2, file and TURN untouched); with it restarts TURN and relays at the external IP', async () => {
    for (const n of NAT) changed.add(n);
    const inventory = withTurn({ ...credentials(clientFiles().turnPasswordFile), externalIp: EXTERNAL_IP });
    const conf = () => NAT.map((n) => labSh(n, 'sha256sum /etc/turnserver.conf'));
    const [confBefore, pidsBefore] = [conf(), NAT.map(turnPid)];

    const deferred = await spawnRpctl(['apply', '-i', inventory, ...limit(NAT), '--yes'], {
      RPCTL_STATE_DIR: join(scratch, 'state-nat'),
    });
    expect(deferred.code).toBe(2);
    expect(deferred.stdout).toContain('(disruptive: deferred, needs --allow-disruptive)');
    expect(conf()).toEqual(confBefore);
    expect(NAT.map(turnPid)).toEqual(pidsBefore);

    const started = performance.now();
    const applied = await rpctl([
      'apply',
      '-i',
      inventory,
      ...limit(NAT),
      '--yes',
      '--allow-disruptive',
      '--format',
      'json',
    ]);
    const applyMs = performance.now() - started;
    expect(applied.code, applied.stdout).toBe(0);
    for (const host of json(applied.stdout).hosts) {
      expect(host.status).toBe('changed');
      expect(host.verification?.every((v) => v.ok)).toBe(true);
    }
    const pidsAfter = NAT.map(turnPid);
    for (const [i, pid] of pidsAfter.entries()) expect(pid).not.toBe(pidsBefore[i]); // restarted
    for (const name of NAT) {
      expect(labSh(name, 'grep -c "^external-ip" /etc/turnserver.conf').trim()).toBe('1');
      expect(await allocate(name, labPassword)).toMatchObject({
        outcome: 'success',
        relayedAddress: EXTERNAL_IP,
      });
      // the restarted TURN server does not hold the apply lock
      expect(applyLockHolders(name)).toBe('');
    }

    const again = await rpctl([
      'apply',
      '-i',
      inventory,
      ...limit(NAT),
      '--yes',
      '--allow-disruptive',
      '--format',
      'json',
    ]);
    expect(again.code).toBe(0);
    expect(json(again.stdout).summary.changes).toBe(0);
    expect(NAT.map(turnPid)).toEqual(pidsAfter);

    // restart to first allocation, measured by hand on the v7 appliance
    const restartStarted = performance.now();
    labSh(natV7, 'service coturn restart >/dev/null');
    const restartMs = performance.now() - restartStarted;
    expect((await allocate(natV7, labPassword)).outcome).toBe('success');
    const allocationMs = performance.now() - restartStarted - restartMs;
    console.log(
      `external-ip on ${NAT.join(' + ')}: ${applyMs.toFixed(0)} ms (apply, restart, verified); ` +
        `service coturn restart ${restartMs.toFixed(0)} ms, then first allocation ${allocationMs.toFixed(0)} ms`,
    );
  });

  it('turn external-ip --unset --save removes the line, relays at relay-ip again, and the inventory says so', async () => {
    for (const n of NAT) changed.add(n);
    const inventory = withTurn(credentials(clientFiles().turnPasswordFile));
    const result = await rpctl([
      'turn',
      'external-ip',
      '-i',
      inventory,
      ...limit(NAT),
      '--unset',
      '--allow-disruptive',
      '--yes',
      '--save',
    ]);
    expect(result.code, result.stdout).toBe(0);
    for (const name of NAT) {
      expect(labSh(name, 'grep -c "^external-ip" /etc/turnserver.conf || true').trim()).toBe('0');
      expect(await allocate(name, labPassword)).toMatchObject({ relayedAddress: spec(name).address });
    }
    expect(readFileSync(inventory, 'utf8')).toMatch(/externalIp: null/);
    expect((await rpctl(['plan', '-i', inventory, ...limit(NAT)])).code).toBe(0);
  });
});

describe('bad TURN values', () => {
  it('exit 3 and no SSH connection to any appliance', async () => {
    const { file } = passwordFile();
    const inventory = withTurn(credentials(file));
    const before = names.map(acceptedLogins);
    const notAnIp = /is not an IPv4 or IPv6 address/;
    const empty = /the TURN username must not be empty/;
    const colon = /a TURN username must not contain ":"/;
    const cases: [string[], RegExp][] = [
      [
        ['turn', 'external-ip', '-i', inventory, ...limit(NAT), 'not-an-ip', '--allow-disruptive', '--yes'],
        notAnIp,
      ],
      [
        [
          'turn',
          'credentials',
          '-i',
          inventory,
          ...limit(CRED),
          '--username',
          '',
          '--password-file',
          file,
          '--yes',
        ],
        empty,
      ],
      [
        [
          'turn',
          'credentials',
          '-i',
          inventory,
          ...limit(CRED),
          '--username',
          'pex:ip',
          '--password-file',
          file,
          '--yes',
        ],
        colon,
      ],
      [['apply', '-i', withTurn({ externalIp: '203.0.113.300' }), '--yes'], notAnIp],
      [
        ['apply', '-i', withTurn({ credentials: { username: '', password: `file:${file}` } }), '--yes'],
        empty,
      ],
      [
        ['apply', '-i', withTurn({ credentials: { username: 'a:b', password: `file:${file}` } }), '--yes'],
        colon,
      ],
    ];
    for (const [argv, reason] of cases) {
      const result = await rpctl(argv);
      expect(result.code, argv.join(' ')).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(reason);
      expect(messageLines(result.stderr)).toHaveLength(1);
    }
    const spawned = await spawnRpctl(cases[0]![0], {});
    expect(spawned.code).toBe(3);
    expect(spawned.stderr).toMatch(notAnIp);
    expect(names.map(acceptedLogins)).toEqual(before);
  });
});

/** The lines of an error besides the source excerpt (`  3 | line` and its caret) that follows it. */
function messageLines(stderr: string): string[] {
  return stderr
    .trim()
    .split('\n')
    .filter((line) => !/^\s+\d* \|/.test(line));
}
