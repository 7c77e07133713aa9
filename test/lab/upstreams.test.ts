/**
 * The engine and its first recipe against real appliances (issue: engine, plan/apply, handlers,
 * rollback, locks, rolling batches; upstreams).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { pexapp } from './files.js';
import { labSh, labSpawn, nginxWorkers, readState, reset, spec } from './lab.js';
import { acceptedLogins, type InventoryDoc, labInventoryFile, rpctl } from './rpctl.js';

const hosts = readState()!
  .appliances.slice(0, 3)
  .map((a) => a.name);
const PEXAPP = '/etc/nginx/sites-available/pexapp';

const text = (name: string) => labSh(name, `cat ${PEXAPP}`);
const loaded = (name: string) => labSh(name, 'nginx -T 2>/dev/null');
/** nginx worker PIDs: they change on a reload, the master's does not */
const workers = (name: string) => nginxWorkers(name);
/** when the current workers started, in clock ticks since boot (the same clock in every appliance) */
const workersStarted = (name: string) =>
  Math.min(
    ...labSh(
      name,
      'for p in $(ps --ppid "$(cat /run/nginx.pid)" -o pid=); do cut -d" " -f22 /proc/$p/stat; done',
    )
      .trim()
      .split('\n')
      .map(Number),
  );

/** The lab inventory with these nodes on every selected appliance. */
function withNodes(nodes: (name: string) => unknown[], extra?: (doc: InventoryDoc) => void): string {
  return labInventoryFile((doc) => {
    for (const name of hosts) doc.appliances[name].upstreams = { nodes: nodes(name) };
    extra?.(doc);
  });
}

const limit = ['--limit', hosts.join(',')];
const json = (stdout: string) =>
  JSON.parse(stdout) as { hosts: { name: string; status: string; error?: { message: string } }[] };

describe('upstreams recipe', () => {
  beforeEach(async () => {
    await reset(hosts);
  });

  it('adds and removes nodes, keeping every other byte; a second apply changes and reloads nothing', async () => {
    const inventory = withNodes((name) => [
      '127.0.3.10',
      '127.0.3.21',
      { address: '127.0.3.22', weight: 5 },
      ...(spec(name).nodes.includes('127.0.3.12') ? ['127.0.3.12'] : []),
    ]);
    const plan = await rpctl(['plan', '-i', inventory, ...limit]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('+    server 127.0.3.21:443 weight=1 max_fails=0;');
    expect(plan.stdout).toContain('-    server 127.0.3.11:443 weight=1 max_fails=0;');

    const apply = await rpctl(['apply', '-i', inventory, ...limit, '--yes', '--format', 'json']);
    expect(apply.code, apply.stderr).toBe(0);
    expect(json(apply.stdout).hosts.map((h) => h.status)).toEqual(['changed', 'changed', 'changed']);
    for (const name of hosts) {
      const before = pexapp(spec(name)).split('\n');
      const after = text(name).split('\n');
      // only server lines differ
      expect(after.filter((l) => !l.includes('server 127.0.3.'))).toEqual(
        before.filter((l) => !l.includes('server 127.0.3.')),
      );
      expect(after.filter((l) => l.includes('server 127.0.3.'))).toEqual([
        '    server 127.0.3.10:443 weight=1 max_fails=0;',
        ...(spec(name).nodes.includes('127.0.3.12')
          ? ['    server 127.0.3.12:443 weight=1 max_fails=0;']
          : []),
        '    server 127.0.3.21:443 weight=1 max_fails=0;',
        '    server 127.0.3.22:443 weight=5 max_fails=0;',
      ]);
      expect(loaded(name)).toContain('server 127.0.3.21:443');
      expect(loaded(name)).not.toContain('127.0.3.11');
    }

    const pids = hosts.map(workers);
    const again = await rpctl(['apply', '-i', inventory, ...limit, '--yes', '--format', 'json']);
    expect(again.code).toBe(0);
    expect(json(again.stdout).hosts.map((h) => h.status)).toEqual(['in-sync', 'in-sync', 'in-sync']);
    expect(hosts.map(workers)).toEqual(pids);
  });

  it('restores the file and skips the reload where nginx -t fails; the other hosts succeed', async () => {
    const [broken, ...fine] = hosts as [string, ...string[]];
    // The new node is a name the other appliances resolve (/etc/hosts) and `broken` cannot.
    for (const name of fine) labSh(name, 'echo "127.0.3.30 conf-node-30.lab.example.com" >> /etc/hosts');
    const inventory = withNodes((name) => [...spec(name).nodes, 'conf-node-30.lab.example.com']);
    const before = text(broken);
    const pids = workers(broken);
    const result = await rpctl(['apply', '-i', inventory, ...limit, '--yes', '--format', 'json']);
    expect(result.code).toBe(1);
    const report = json(result.stdout);
    const failed = report.hosts.find((h) => h.name === broken)!;
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toMatch(
      /nginx -t.*\[emerg\].*host not found in upstream "conf-node-30\.lab\.example\.com:443".*restored/,
    );
    expect(text(broken)).toBe(before);
    expect(workers(broken)).toBe(pids);
    for (const name of fine) expect(report.hosts.find((h) => h.name === name)?.status).toBe('changed');
  });

  it('leaves no half-written file when the SSH connection dies mid-apply; its outcome is read after reconnecting', async () => {
    const [name] = hosts as [string];
    const inventory = withNodes((n) => [...spec(n).nodes, '127.0.3.31']);
    // Inside the appliance: as soon as the apply script holds its lock, kill pexip's SSH session.
    const killer = labSpawn(name, [
      'sh',
      '-c',
      'for i in $(seq 20000); do if ! flock -n /run/lock/rpctl.apply.lock true 2>/dev/null; then pkill -KILL -f "[s]shd: pexip"; echo killed; exit 0; fi; done; echo missed',
    ]);
    // listen for its exit now: it may well exit before the apply returns
    const killerDone = new Promise((r) => killer.once('exit', r));
    let killed = '';
    killer.stdout?.on('data', (d: Buffer) => (killed += d.toString()));
    const cut = await rpctl(['apply', '-i', inventory, '--limit', name, '--yes', '--format', 'json']);
    await killerDone;
    expect(killed.trim()).toBe('killed');
    // the apply went on detached; rpctl read its outcome over a new connection (faults-connection.test.ts)
    expect(cut.code, cut.stdout + cut.stderr).toBe(0);
    expect(JSON.parse(cut.stdout).hosts[0].notes.join('\n')).toContain('read after reconnecting');
    // The appliance finishes (or restores) by itself: wait for its apply to let go of the lock and
    // for the dead session's lock holder to clean up.
    labSh(name, 'flock /run/lock/rpctl.apply.lock true');
    for (let i = 0; i < 50 && /rpctl/.test(labSh(name, 'ls /tmp')); i++)
      await new Promise((r) => setTimeout(r, 100));
    // the file is the old one or the new one, whole; no temporary file, no upload left behind
    const now = text(name);
    const old = pexapp(spec(name));
    const expected = old.replace(
      '    keepalive 1024;',
      '    server 127.0.3.31:443 weight=1 max_fails=0;\n    keepalive 1024;',
    );
    expect([old, expected]).toContain(now);
    expect(labSh(name, `ls -a /etc/nginx/sites-available; ls /tmp`)).not.toMatch(/rpctl/);

    const next = await rpctl(['apply', '-i', inventory, '--limit', name, '--yes']);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(text(name)).toBe(expected);
    expect(loaded(name)).toContain('server 127.0.3.31:443');
    const plan = await rpctl(['plan', '-i', inventory, '--limit', name]);
    expect(plan.code).toBe(0);
  });

  it('never interleaves two applies on one appliance: the second reports who holds the lock', async () => {
    const [name] = hosts as [string];
    const first = withNodes((n) => [...spec(n).nodes, '127.0.3.41']);
    const second = withNodes((n) => [...spec(n).nodes, '127.0.3.42']);
    let answer!: (text: string) => void;
    let asked!: () => void;
    const waiting = new Promise<void>((r) => (asked = r));
    // The first apply holds the lock while its operator reads the plan at the confirmation prompt.
    const running = rpctl(['apply', '-i', first, '--limit', name], {
      tty: true,
      env: { CI: '1' },
      prompt: () => {
        asked();
        return new Promise((r) => (answer = r));
      },
    });
    await waiting;
    const blocked = await rpctl([
      'apply',
      '-i',
      second,
      '--limit',
      name,
      '--yes',
      '--lock-timeout',
      '2',
      '--format',
      'json',
    ]);
    expect(blocked.code).toBe(1);
    expect(json(blocked.stdout).hosts[0]?.error?.message).toMatch(
      new RegExp(
        `^${name}: locked by \\S+@\\S+ \\(pid ${process.pid}, rpctl apply\\) since \\d{4}-\\d\\d-\\d\\dT.*; waited 2 s$`,
      ),
    );
    answer('yes');
    expect((await running).code).toBe(0);
    expect(loaded(name)).toContain('127.0.3.41');
    expect(loaded(name)).not.toContain('127.0.3.42');
  });

  it('--serial 1 reloads one appliance at a time', async () => {
    const inventory = withNodes((n) => [...spec(n).nodes, '127.0.3.51']);
    const result = await rpctl(['apply', '-i', inventory, ...limit, '--yes', '--serial', '1']);
    expect(result.code).toBe(0);
    const reloads = hosts.map(workersStarted).sort((a, b) => a - b);
    // each appliance's whole apply (upload, sudo, validate, reload, verify) finished before the next began
    expect(reloads[1]! - reloads[0]!).toBeGreaterThanOrEqual(5); // ticks of 10 ms
    expect(reloads[2]! - reloads[1]!).toBeGreaterThanOrEqual(5);
  });

  it('a group’s serial keeps its appliances from reloading together whatever the flags', async () => {
    const inventory = withNodes(
      (n) => [...spec(n).nodes, '127.0.3.52'],
      (doc) => {
        doc.groups.srv = { description: 'two proxies behind one SRV record', serial: 1 };
        for (const name of hosts) doc.appliances[name].groups = [...doc.appliances[name].groups, 'srv'];
      },
    );
    const result = await rpctl(['apply', '-i', inventory, ...limit, '--yes']);
    expect(result.code).toBe(0);
    const reloads = hosts.map(workersStarted).sort((a, b) => a - b);
    expect(reloads[1]! - reloads[0]!).toBeGreaterThanOrEqual(5);
    expect(reloads[2]! - reloads[1]!).toBeGreaterThanOrEqual(5);
  });

  it('--max-fail 0 stops after the first failing batch', async () => {
    const [broken, ...rest] = hosts as [string, ...string[]];
    for (const name of rest) labSh(name, 'echo "127.0.3.60 conf-node-60.lab.example.com" >> /etc/hosts');
    const inventory = withNodes((n) => [...spec(n).nodes, 'conf-node-60.lab.example.com']);
    const before = rest.map(text);
    const result = await rpctl([
      'apply',
      '-i',
      inventory,
      ...limit,
      '--yes',
      '--serial',
      '1',
      '--max-fail',
      '0',
      '--format',
      'json',
    ]);
    expect(result.code).toBe(1);
    const report = json(result.stdout);
    expect(report.hosts.find((h) => h.name === broken)?.status).toBe('failed');
    for (const name of rest) expect(report.hosts.find((h) => h.name === name)?.status).toBe('drift');
    expect(rest.map(text)).toEqual(before);
  });
});

describe('upstreams input', () => {
  it.each([['10.0.0.1; reboot'], ['10.0.0.1\nreboot'], ['$(id)'], ['`id`.example.com']])(
    'refuses the node %j with exit 3 before any connection',
    async (hostile) => {
      const logins = hosts.map(acceptedLogins);
      const inventory = withNodes(() => ['127.0.3.10', hostile]);
      const result = await rpctl(['plan', '-i', inventory]);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/upstreams\.nodes\.1/);
      const oneOff = await rpctl(['upstream', 'add', '-i', labInventoryFile(), ...limit, hostile, '--yes']);
      expect(oneOff.code).toBe(3);
      expect(oneOff.stderr).toMatch(/^rpctl: node ".*": expected an IPv4\/IPv6 address or host name/);
      expect(hosts.map(acceptedLogins)).toEqual(logins);
    },
  );
});
