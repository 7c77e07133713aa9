/**
 * The reports of plan, apply and drift against real appliances: the JSON of each validated by the
 * report schema (the one schemas/report.schema.json is generated from), plan and `apply --yes`
 * grouped, JUnit checked against Jenkins' schema (test/lab/junit.xsd) with xmllint, Prometheus with
 * promtool; and, under real pseudo-terminals (script(1), tmux), stdout carrying only the report
 * while progress shows on the terminal, and 60 inventory names on a 100×20 screen.
 *
 * Needs the built CLI (dist/, `npm run build`) for the terminal tests. Changes only the upstreams
 * of lab-1..lab-4, and puts them back with an apply of the lab inventory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportSchema } from '../../src/report/json.js';
import { readState } from './lab.js';
import { labInventoryFile, rpctl, scratch } from './rpctl.js';

const names = readState()!.appliances.map((a) => a.name);
const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'rpctl');
/** an address of this lab where nothing listens: a host that is never read */
const nowhere = `${readState()!.prefix}.250`;
const env = { ...process.env, NO_COLOR: '1', RPCTL_STATE_DIR: join(scratch, 'state'), CI: '' };

const parsed = (stdout: string) => reportSchema.parse(JSON.parse(stdout));
/** what differs between two runs of the same check: ids, times, durations */
const normalized = (json: string) =>
  json.replace(/"(runId|startedAt|durationMs|handshakeMs|secondsLeft)": ("[^"]*"|[\d.]+)/g, '"$1": 0');

function sh(command: string, options: { timeout?: number } = {}) {
  const result = spawnSync('/bin/sh', ['-c', command], {
    cwd: scratch,
    env,
    encoding: 'utf8',
    timeout: options.timeout ?? 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('reports', () => {
  let lab: string;
  let withNode: string;
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js')))
      throw new Error('run `npm run build` first');
    lab = labInventoryFile();
    withNode = labInventoryFile((doc) => {
      for (const name of names) doc.appliances[name].upstreams.nodes.push('127.0.3.13');
    });
  });
  afterAll(async () => {
    await rpctl(['apply', '-i', lab, '--yes', '--recipes', 'upstreams']);
  });

  it('groups plan and apply --yes by identical change; their JSON is valid against the report schema', async () => {
    const plan = await rpctl(['plan', '-i', withNode]);
    expect(plan.code).toBe(2);
    // v4 and v7 appliances have different upstream lists, hence two diffs
    expect(plan.stdout).toContain('lab-1, lab-3 (2 hosts): 1 change\n  ~ upstreams: add 127.0.3.13:443\n');
    expect(plan.stdout.match(/\+ {4}server 127\.0\.3\.13:443/g)).toHaveLength(2);
    const short = await rpctl(['plan', '-i', withNode, '--no-diff']);
    expect(short.stdout).not.toContain('+++');
    const planJson = parsed((await rpctl(['plan', '-i', withNode, '--format', 'json'])).stdout);
    expect(planJson).toMatchObject({ schemaVersion: 1, mode: 'plan', summary: { drift: 4, inSync: 0 } });

    // on a terminal, apply asks after the grouped plan (on stderr); "no" applies nothing
    let question = '';
    const declined = await rpctl(['apply', '-i', withNode], {
      tty: true,
      env: { CI: '' },
      prompt: async (q) => {
        question = q;
        return 'no';
      },
    });
    expect(declined.code).toBe(2);
    expect(declined.stderr).toContain(
      'lab-2, lab-4 (2 hosts): 1 change\n  ~ upstreams: add 127.0.3.13:443\n',
    );
    expect(question).toBe('Apply 4 changes to 4 hosts? Only "yes" applies: ');
    // the report: what was not applied, without the diffs the plan showed
    expect(declined.stdout).toContain('lab-1…lab-4 (4 hosts): not applied (1 change)\n  ! upstreams: add');
    expect(declined.stdout).not.toContain('+++');

    // no terminal: apply --yes says what it changed, grouped, with the diffs
    const apply = await rpctl(['apply', '-i', withNode, '--yes', '--limit', 'lab-1,lab-3']);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain(
      'lab-1, lab-3 (2 hosts): changed (1 change)\n  ✓ upstreams: add 127.0.3.13:443',
    );
    expect(apply.stdout).toContain('+    server 127.0.3.13:443');
    const applyJson = parsed((await rpctl(['apply', '-i', withNode, '--yes', '--format', 'json'])).stdout);
    expect(applyJson.summary).toMatchObject({ changed: 2, inSync: 2 });
    const back = parsed((await rpctl(['apply', '-i', lab, '--yes', '--format', 'json'])).stdout);
    expect(back.summary.changed).toBe(4);
  });

  it('drift: JSON by the schema, JUnit by the Jenkins schema, Prometheus by promtool, a host not read included', async () => {
    const inventory = labInventoryFile((doc) => {
      doc.appliances.gone = { ...doc.appliances[names[0]!], host: nowhere, ssh: { connectTimeout: 2 } };
    });
    const json = parsed((await rpctl(['drift', '-i', inventory, '--format', 'json'])).stdout);
    expect(json.summary).toMatchObject({ hosts: 5, inSync: 4, unreachable: 1 });

    const junit = await rpctl(['drift', '-i', inventory, '--format', 'junit']);
    expect(junit.code).toBe(1);
    const file = join(scratch, 'drift.xml');
    writeFileSync(file, junit.stdout);
    const xsd = join(root, 'test', 'lab', 'junit.xsd');
    expect(sh(`xmllint --noout --schema ${xsd} ${file}`).code).toBe(0);
    const suites = [
      ...junit.stdout.matchAll(/<testsuite name="([^"]+)" tests="(\d+)" failures="\d+" errors="(\d+)"/g),
    ];
    const gone = suites.find((s) => s[1] === 'gone')!;
    const first = suites.find((s) => s[1] === names[0])!;
    // the host not read has the same recipes as test cases, each an error (no expiry case: no handshake)
    expect(Number(gone[3])).toBe(Number(gone[2]));
    expect(Number(gone[2])).toBeGreaterThan(0);
    expect(junit.stdout).toMatch(/timestamp="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/);
    expect(Number(first[2])).toBeGreaterThanOrEqual(Number(gone[2]));

    const prom = await rpctl(['drift', '-i', inventory, '--format', 'prometheus', '--shard', '1/1']);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: prom.stdout, encoding: 'utf8' });
    expect([check.status, check.stdout + check.stderr]).toEqual([0, '']);
    expect(prom.stdout).toContain('rpctl_host_up{host="gone"} 0');
    expect(prom.stdout).not.toMatch(/^rpctl_drift(_changes)?\{host="gone"/m);
    expect(prom.stdout).toMatch(/^rpctl_drift_run_duration_seconds\{shard="1\/1"\} /m);
  });

  it('on a terminal: progress on it, the report alone on stdout (piped or redirected), the same bytes as without', async () => {
    const plain = await rpctl(['drift', '-i', lab, '--format', 'json']);
    const run = `node ${bin} drift -i ${lab} --format json`;
    const piped = sh(`script -qec '${run} | jq -e . > piped.json' piped.tty`);
    expect(piped.code).toBe(0);
    const redirected = sh(`script -qec '${run} > redirected.json' redirected.tty`);
    expect(redirected.code).toBe(0);
    const screen = readFileSync(join(scratch, 'redirected.tty'), 'utf8');
    expect(screen).toMatch(/\d\/4 done · \d+ changed · \d+ in sync/);
    const file = readFileSync(join(scratch, 'redirected.json'), 'utf8');
    expect(normalized(file)).toBe(normalized(plain.stdout));
    expect(parsed(readFileSync(join(scratch, 'piped.json'), 'utf8')).summary.inSync).toBe(names.length);
    // a reader that goes away: rpctl ends quietly
    const head = sh(`script -qec '${run} | head -c 10 > head.txt' head.tty`);
    expect(head.code).toBe(0);
    expect(readFileSync(join(scratch, 'head.tty'), 'utf8')).not.toMatch(/EPIPE|Error|\n\s+at /);
  });

  it('60 inventory names on a 100×20 terminal: a summary line, never more than 20 lines', async () => {
    const sixty = labInventoryFile((doc) => {
      const templates = names.map((n) => doc.appliances[n]);
      doc.appliances = Object.fromEntries(
        Array.from({ length: 60 }, (_, i) => [`rp${String(i + 1).padStart(2, '0')}`, templates[i % 4]]),
      );
    });
    const session = `rpctl-reports-${process.pid}`;
    const done = join(scratch, 'sixty.rc');
    // no status line: the pane is the whole 100×20 window
    const config = join(scratch, 'tmux.conf');
    writeFileSync(config, 'set -g status off\n');
    const tmux = (...args: string[]) =>
      execFileSync('tmux', ['-L', session, '-f', config, ...args], { env, encoding: 'utf8' });
    // sshd's MaxStartups (10:30:100) is per appliance; --handshakes 8 keeps every one below it
    tmux(
      'new-session',
      '-d',
      '-x',
      '100',
      '-y',
      '20',
      `node ${bin} drift -i ${sixty} --handshakes 8 --format json > ${join(scratch, 'sixty.json')}; echo $? > ${done}; sleep 30`,
    );
    const screens: string[][] = [];
    try {
      while (!existsSync(done)) {
        const lines = tmux('capture-pane', '-p', '-J').replace(/\n+$/, '').split('\n');
        const scrolled = Number(tmux('display', '-p', '#{history_size}').trim());
        expect(scrolled).toBe(0); // nothing ever scrolled off the 20 lines
        screens.push(lines);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      spawnSync('tmux', ['-L', session, 'kill-server']);
    }
    expect(readFileSync(done, 'utf8').trim()).toBe('0');
    const running = screens.filter((s) => /\d+\/60 done ·/.test(s[0] ?? ''));
    expect(running.length).toBeGreaterThan(0);
    expect(Math.max(...screens.map((s) => s.length))).toBeLessThanOrEqual(20);
    expect(parsed(readFileSync(join(scratch, 'sixty.json'), 'utf8')).summary.inSync).toBe(60);
  });
});
