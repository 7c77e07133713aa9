/**
 * The one-off policy against real appliances (issue 15): a one-off that changes appliances without
 * --limit is exit 3 and no appliance's sshd sees a connection; a declined confirmation is exit 2
 * with nothing changed; `upstream add --save` where the nodes come from a group writes the group's
 * list (never an appliance-level copy), refuses when --limit does not cover the group, and the
 * appliances converge to what was saved.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clientFiles, labSh, readState, reset, spec } from './lab.js';
import { acceptedLogins, type InventoryDoc, labInventoryFile, rpctl } from './rpctl.js';
import { spawnRpctl } from './turn-probe.js';

const names = readState()!.appliances.map((a) => a.name);
const [first, second] = names as [string, string];
const PEXAPP = '/etc/nginx/sites-available/pexapp';
const NEW_NODE = '127.0.3.77'; // a loopback address nobody listens on, like the lab's other nodes

const changed = new Set<string>();
afterAll(async () => {
  if (changed.size > 0) await reset([...changed]);
}, 300_000);

const authLog = (name: string) => labSh(name, 'cat /var/log/auth.log');

/** sshd's log once it has stopped growing (the lab's readiness probe may still be logging). */
async function settledAuthLogs(): Promise<string[]> {
  let last = names.map(authLog);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = names.map(authLog);
    if (now.every((log, n) => log === last[n])) return now;
    last = now;
  }
  return last;
}

describe('a one-off that changes appliances needs --limit', () => {
  it('exit 3 without it, and no appliance sees an SSH connection (not even a refused one)', async () => {
    const inventory = labInventoryFile();
    const files = clientFiles();
    const before = await settledAuthLogs();
    const commands: [string[], string[]][] = [
      [
        ['turn', 'external-ip'],
        ['203.0.113.10', '--allow-disruptive'],
      ],
      [
        ['turn', 'credentials'],
        ['--username', 'pexip', '--password-file', files.turnPasswordFile],
      ],
      [['nic', 'setup'], ['--allow-disruptive']],
      [['upstream', 'add'], [NEW_NODE]],
      [['upstream', 'remove'], ['127.0.3.10']],
      [
        ['cert', 'replace'],
        ['--pem', inventory],
      ],
      [['cert', 'rollback'], []],
      [['fail2ban', 'enable'], []],
      [
        ['fail2ban', 'tune'],
        ['--maxretry', '5'],
      ],
      [['install'], []],
    ];
    for (const [words, rest] of commands) {
      const argv = [...words, '-i', inventory, ...rest, '--yes'];
      const result = await rpctl(argv);
      expect(result.code, argv.join(' ')).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `rpctl: ${words.join(' ')}: --limit is required: name the appliances to change (names, groups, globs; '*' for all)\n`,
      );
    }
    // the real process too, as an operator would run it
    const spawned = await spawnRpctl(['turn', 'external-ip', '-i', inventory, '203.0.113.10', '--yes'], {});
    expect([spawned.code, spawned.stderr]).toEqual([3, expect.stringContaining('--limit is required')]);
    expect(await settledAuthLogs()).toEqual(before);
    // the control: a read-only one-off with --limit does show in the appliance's log
    const logins = acceptedLogins(first);
    expect((await rpctl(['upstream', 'list', '-i', inventory, '--limit', first])).code).toBe(0);
    expect(acceptedLogins(first)).toBe(logins + 1);
  });
});

describe('a declined confirmation', () => {
  it('is exit 2 and changes nothing', async () => {
    const pexapp = labSh(first, `cat ${PEXAPP}`);
    const result = await rpctl(['upstream', 'add', '-i', labInventoryFile(), '--limit', first, NEW_NODE], {
      tty: true,
      env: { CI: '1' },
      prompt: async () => 'no',
    });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('Nothing applied.');
    expect(labSh(first, `cat ${PEXAPP}`)).toBe(pexapp);
  });
});

describe('upstream list: a plan of the upstreams recipe through the engine', () => {
  it('lists each appliance’s nodes, and says (exit 2) where they differ from the inventory', async () => {
    const nodes = spec(first).nodes;
    const same = await rpctl([
      'upstream',
      'list',
      '-i',
      labInventoryFile(),
      '--limit',
      first,
      '--format',
      'json',
    ]);
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout)).toEqual({
      schemaVersion: 1,
      hosts: [{ name: first, nodes: nodes.map((n) => `${n}:443`), inventory: 'in sync' }],
    });
    const other = labInventoryFile((doc: InventoryDoc) => {
      doc.appliances[first].upstreams.nodes = [...nodes, NEW_NODE];
    });
    const differs = await rpctl(['upstream', 'list', '-i', other, '--limit', first]);
    expect(differs.code).toBe(2);
    expect(differs.stdout).toBe(
      `${first}: ${nodes.map((n) => `${n}:443`).join(', ')} (inventory: differs)\n`,
    );
  });
});

describe('upstream add --save where the nodes come from a group', () => {
  const pool = [first, second];
  const base = spec(first).nodes;
  const inventory = () =>
    labInventoryFile((doc: InventoryDoc) => {
      doc.groups.pool = {
        description: 'two proxies with one list of nodes',
        vars: { upstreams: { nodes: base } },
      };
      for (const name of pool) {
        delete doc.appliances[name].upstreams;
        doc.appliances[name].groups = [...doc.appliances[name].groups, 'pool'];
      }
    });

  it('refuses when --limit leaves out an appliance of the group, then writes the group list and converges', async () => {
    for (const name of pool) changed.add(name);
    const inv = inventory();
    // both appliances start from the group's list
    const converge = await rpctl(['apply', '-i', inv, '--limit', 'pool', '--recipes', 'upstreams', '--yes']);
    expect(converge.code, converge.stderr).toBe(0);
    const text = readFileSync(inv, 'utf8');

    const logins = pool.map(acceptedLogins);
    const refused = await rpctl([
      'upstream',
      'add',
      '-i',
      inv,
      '--limit',
      first,
      NEW_NODE,
      '--yes',
      '--save',
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe(
      `rpctl: --save: upstreams.nodes is declared in group pool, which also gives it to ${second} (not in --limit); widen --limit to every appliance it reaches, or run without --save and edit groups.pool.vars yourself (nothing was contacted)\n`,
    );
    expect(pool.map(acceptedLogins)).toEqual(logins);
    expect(readFileSync(inv, 'utf8')).toBe(text);

    const saved = await rpctl(['upstream', 'add', '-i', inv, '--limit', 'pool', NEW_NODE, '--yes', '--save']);
    expect(saved.code, saved.stdout + saved.stderr).toBe(0);
    expect(saved.stderr).toContain(`saved upstreams.nodes in group pool (for ${pool.join(', ')}) in ${inv}`);
    const doc = parse(readFileSync(inv, 'utf8')) as InventoryDoc;
    expect(doc.groups.pool.vars.upstreams.nodes).toEqual([...base, NEW_NODE]);
    for (const name of pool) {
      expect(doc.appliances[name].upstreams, `${name} has no copy of the list`).toBeUndefined();
      expect(labSh(name, 'nginx -T 2>/dev/null')).toContain(`server ${NEW_NODE}:443`);
    }
    const plan = await rpctl(['plan', '-i', inv, '--limit', 'pool', '--recipes', 'upstreams']);
    expect(plan.code, plan.stdout).toBe(0);
  });
});
