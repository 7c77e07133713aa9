/**
 * Commit-confirmed apply against a stand-in host: which connections it makes, what it decides,
 * and what it reports, for every way the confirmation can go. The host side is confirm-script.ts,
 * whose text is checked here and which runs for real in the lab tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApplyContext } from '../../../src/engine/apply-result.js';
import { applyScript } from '../../../src/engine/apply-script.js';
import {
  armRollback,
  type Decision,
  decideScript,
  parseConfirmState,
} from '../../../src/engine/confirm-script.js';
import type { Recipe } from '../../../src/engine/contract.js';
import { GatheredFacts, mergeFactSpecs } from '../../../src/engine/facts.js';
import { applyHost, type PreparedHost } from '../../../src/engine/host.js';
import { planHost } from '../../../src/engine/plan.js';
import { Redactor } from '../../../src/engine/redact.js';
import { HostError } from '../../../src/errors.js';
import { script, sh } from '../../../src/transport/shell.js';
import type { ExecResult, HostSession } from '../../../src/transport/types.js';
import { applianceConfig } from '../support/appliance.js';

/** What the stand-in host does with each script rpctl sends it. */
interface FakeHost {
  /** the first connection's apply exec: its output, or a cut connection */
  apply: 'applied' | 'cut' | 'stale' | 'handler-failed';
  /** a reconnection succeeds from this time on (ms since the apply was sent) */
  reachableAfterMs: number;
  /** the armed rollback fires this long after the apply (ms) */
  windowMs: number;
  /** what verification finds on the host */
  healthy: boolean;
  /** the timer runs out just as rpctl's confirmation arrives */
  timerWinsTheRace?: boolean;
  decision?: Decision;
  restored?: boolean;
  connections: string[];
  decisionsAsked: string[];
}

const ok = (stdout: string): ExecResult => ({
  code: 0,
  stdout: Buffer.from(stdout),
  stderr: Buffer.alloc(0),
});

function session(host: FakeHost, started: () => number): HostSession {
  const elapsed = () => Date.now() - started();
  const tick = () => {
    if (!host.decision && elapsed() >= host.windowMs) host.decision = 'rollback';
    if (host.decision === 'rollback') host.restored = true;
  };
  const exec = async (command: { text: string }) => {
    const text = command.text;
    tick();
    if (text.includes('setsid -w sh -c')) {
      if (host.apply === 'cut') throw new HostError('timeout', 'rp1: the command did not finish within 5 s');
      if (host.apply === 'stale') return ok('@stale 0\n');
      if (host.apply === 'handler-failed') {
        host.decision = 'restored-by-apply';
        return ok(
          `@armed 10\n@failed handler 0\n${Buffer.from('ifup: boom').toString('base64')}\n@restored\n`,
        );
      }
      return ok('@armed 10\n@applied\n@facts end\n');
    }
    if (text.includes('rpctl_decide confirmed') || text.includes('rpctl_decide rollback')) {
      const want = text.includes('rpctl_decide confirmed') ? 'confirmed' : 'rollback';
      host.decisionsAsked.push(want);
      if (host.timerWinsTheRace) host.decision ??= 'rollback';
      host.decision ??= want;
      return ok(`@decision ${host.decision}\n`);
    }
    if (text.includes('@confirm missing')) {
      const lines = [
        `@confirm decision=${host.decision ?? ''}`,
        `@confirm result=${host.restored ? 'restored 100.0 100.4' : ''}`,
        '@confirm apply-output',
        Buffer.from('@armed 10\n@applied\n@facts end\n').toString('base64'),
        `@cmd 0 ${host.healthy && host.decision !== 'rollback' ? 0 : 1}`,
        '',
        '@facts end',
      ];
      return ok(`${lines.join('\n')}\n`);
    }
    return ok('');
  };
  return {
    name: 'rp1',
    exec: exec as HostSession['exec'],
    execStream: async () => {
      throw new Error('not used');
    },
    terminal: async () => {
      throw new Error('not used');
    },
    whenClosed: () => new Promise(() => {}),
    stats: { connections: 1, execs: 0, sftpSessions: 0, bytesSent: 0, bytesReceived: 0, handshakeMs: 1 },
    close: async () => {},
  };
}

/** A recipe whose only handler may cut the SSH path; its verification reads fact `healthy`. */
const recipe: Recipe = {
  name: 'net',
  description: 'net',
  section: 'net',
  desired: () => ({}),
  facts: { commands: [{ id: 'healthy', command: sh`true` }] },
  plan: () => ({
    changes: [
      {
        summary: 'rewire',
        writes: [{ path: '/etc/net.conf', content: 'new', mode: 0o644, owner: 'root', group: 'root' }],
        notify: [
          {
            id: 'net:restart',
            command: sh`restart-net`,
            disruptive: true,
            mayCutSshPath: { reconnectTo: '10.0.0.2' },
          },
        ],
      },
    ],
  }),
  verify: (_d, after) => [
    { kind: 'assert', ok: after.command('healthy')?.code === 0, message: 'the network is healthy' },
  ],
  verifyRestored: () => [{ kind: 'assert', ok: true, message: 'the old network is back' }],
};

async function apply(fake: Partial<FakeHost>) {
  const host: FakeHost = {
    apply: 'applied',
    reachableAfterMs: 0,
    windowMs: 60_000,
    healthy: true,
    connections: [],
    decisionsAsked: [],
    ...fake,
  };
  let sentAt = Date.now();
  const spec = mergeFactSpecs([recipe.facts]);
  const facts = new GatheredFacts(new Map(), new Map());
  const selected = [{ recipe, desired: {} }];
  const plan = planHost('rp1', selected, facts, {
    allowDisruptive: true,
    now: new Date(0),
    redactor: new Redactor(),
  });
  const first = session(host, () => sentAt);
  const exec = first.exec;
  first.exec = async (command, options) => {
    // the apply exec: its files travel on its stdin, no SFTP upload
    if (command.text.includes('setsid -w sh -c')) {
      expect(options?.stdin?.toString()).toBe('new');
      sentAt = Date.now();
    }
    return exec(command, options);
  };
  const prepared: PreparedHost = {
    appliance: applianceConfig(),
    selected,
    spec,
    session: first,
    facts,
    plan,
    uploadDir: '/tmp/rpctl-x',
  };
  const ctx: ApplyContext = {
    runId: 'r1',
    probes: new Map(),
    secret: () => '',
    address: '192.0.2.1',
    now: new Date(0),
    applyTimeoutMs: 5000,
    confirmSeconds: host.windowMs / 1000,
    confirmPollMs: 5,
    reconnect: async (address) => {
      if (Date.now() - sentAt < host.reachableAfterMs)
        throw new HostError('unreachable', `rp1: ${address}:22 unreachable`);
      host.connections.push(address);
      return session(host, () => sentAt);
    },
  };
  const result = await applyHost(prepared, ctx);
  return { result, host };
}

describe('commit-confirmed apply', () => {
  it('confirms over a NEW connection to the management address once verification passes', async () => {
    const { result, host } = await apply({});
    expect(result.status).toBe('changed');
    expect(host.connections).toEqual(['10.0.0.2']);
    expect(host.decisionsAsked).toEqual(['confirmed']);
    expect(result.moreSessions).toHaveLength(1);
    expect(result.notes?.[0]).toMatch(
      /^commit-confirmed: rollback armed for 60 s; a new SSH connection over 10\.0\.0\.2 after \d+\.\d s; verified; confirmed after/,
    );
  });

  it('a cut first connection: confirms over the next one all the same', async () => {
    const { result, host } = await apply({ apply: 'cut' });
    expect(result.status).toBe('changed');
    expect(host.decisionsAsked).toEqual(['confirmed']);
  });

  it('failed verification rolls back at once, and reports what failed and that the old state is back', async () => {
    const { result, host } = await apply({ healthy: false });
    expect(host.decisionsAsked).toEqual(['rollback']);
    expect(result).toMatchObject({ status: 'failed', rolledBack: true });
    expect(result.error?.reason).toBe('verification');
    expect(result.error?.message).toBe(
      'rp1: verification failed: the network is healthy; the host rolled back; the previous files and state are back',
    );
  });

  it('no connection within the window: the host rolls back by itself; rpctl checks it and fails the host', async () => {
    const { result, host } = await apply({ apply: 'cut', windowMs: 300, reachableAfterMs: 400 });
    expect(host.decisionsAsked).toEqual([]);
    expect(result).toMatchObject({ status: 'failed', rolledBack: true });
    expect(result.error?.reason).toBe('unconfirmed');
    expect(result.error?.message).toMatch(
      /^rp1: no new SSH connection over 10\.0\.0\.2 within the 0\.3 s window \(rp1: 10\.0\.0\.2:22 unreachable; it answered again after \d+\.\d s\); the host rolled back by itself; the previous files and state are back$/,
    );
    expect(result.notes?.[0]).toContain('rolled back on the host (restore took 0.4 s)');
  });

  it('a confirmation that loses the race with the timer reports the rollback, not a success', async () => {
    // verification passes, but the host's timer has already decided by the time rpctl asks
    const { result, host } = await apply({ timerWinsTheRace: true });
    expect(host.decision).toBe('rollback');
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(
      /the host rolled back by itself; the previous files and state are back$/,
    );
  });

  it('stops without reconnecting when nothing was armed (stale) or the apply restored by itself', async () => {
    const stale = await apply({ apply: 'stale' });
    expect(stale.result.error?.reason).toBe('stale');
    expect(stale.host.connections).toEqual([]);
    const handler = await apply({ apply: 'handler-failed' });
    expect(handler.result.error?.message).toBe(
      'rp1: handler net:restart failed: ifup: boom; previous files restored',
    );
    expect(handler.host.connections).toEqual([]);
  });
});

describe('the host side', () => {
  const input = {
    runId: 'r1',
    uploadDir: '/tmp/rpctl-r1',
    files: [],
    touches: [],
    steps: [],
    validate: [],
    handlers: [{ id: 'h', command: sh`restart-net` }],
    factsAfter: script("echo '@facts end'"),
  };

  it('runs each detached body as ONE quoted argument of sh -c (spliced in, its lines would run attached)', () => {
    // an ordinary apply keeps its output in its outcome directory until it is printed (outcome.ts)
    expect(applyScript(input).text).toMatch(
      /^\( umask 077 && mkdir -p -m 0700 \/var\/lib\/rpctl\/outcome\/r1 && : > \/var\/lib\/rpctl\/outcome\/r1\/apply.out \)\nsetsid -w sh -c 'set -u\n/,
    );
    const confirmed = applyScript({
      ...input,
      confirm: { dir: '/var/lib/rpctl/confirm/r1', seconds: 10 },
    }).text;
    expect(confirmed).toMatch(
      /^\( umask 077 && mkdir -p -m 0700 \/var\/lib\/rpctl\/confirm\/r1 && : > \/var\/lib\/rpctl\/confirm\/r1\/apply.out \)\nsetsid -w sh -c 'set -u\n/,
    );
    const armed = armRollback({
      dir: '/d',
      seconds: 10,
      backupDir: '/b',
      restoreFunctions: script('rpctl_restore() { true; }'),
    }).text;
    expect(armed).toContain("setsid sh -c 'trap '\\'''\\'' HUP PIPE\nrpctl_confirm=/d\n");
    expect(armed).toContain(` rpctl-rollback < /dev/null > "$rpctl_confirm/rollback.log" 2>&1 8>&- &`);
  });

  it('arms the rollback after validation and before the handlers, and disarms it when the apply restores itself', () => {
    const text = applyScript({
      ...input,
      validate: [sh`check-net`],
      confirm: { dir: '/var/lib/rpctl/confirm/r1', seconds: 10 },
    }).text;
    const at = (needle: string) => text.indexOf(needle);
    expect(at('check-net')).toBeLessThan(at('@armed'));
    expect(at('@armed')).toBeLessThan(at('if ! ( restart-net )'));
    expect(text).toContain('rpctl_restore; rpctl_rerun_handlers; rpctl_disarm');
  });

  const bash = (text: string) => spawnSync('bash', ['-c', text], { encoding: 'utf8' });
  const until = async (done: () => boolean) => {
    for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
  };

  /** The rollback armed by a local shell in a scratch directory, its restore stubbed to leave a mark. */
  async function armLocally() {
    const work = mkdtempSync(join(tmpdir(), 'rpctl-confirm-'));
    const dir = join(work, 'run');
    const mark = join(work, 'restored');
    const arm = armRollback({
      dir,
      seconds: 30,
      backupDir: join(work, 'backup'),
      restoreFunctions: script(
        `rpctl_restore() { echo restored > ${mark}; }; rpctl_rerun_handlers() { true; }`,
      ),
    });
    expect(bash(`mkdir -p ${dir}; ${arm.text}`).stdout).toContain('@armed 30');
    // the file exists before the shell has written the PID into it
    await until(
      () => existsSync(join(dir, 'timer.pid')) && readFileSync(join(dir, 'timer.pid'), 'utf8').trim() !== '',
    );
    return { dir, mark, cleanup: () => rmSync(work, { recursive: true, force: true }) };
  }

  it('a confirmation leaves the run directory to the woken rollback, which removes it and restores nothing', async () => {
    for (let round = 0; round < 3; round++) {
      const { dir, mark, cleanup } = await armLocally();
      expect(bash(decideScript(dir, 'confirmed').text).stdout).toContain('@decision confirmed');
      await until(() => !existsSync(dir));
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(mark)).toBe(false);
      cleanup();
    }
  }, 60_000);

  it('confirming never removes the run directory itself (a rollback waking meanwhile would find no decision)', () => {
    const work = mkdtempSync(join(tmpdir(), 'rpctl-confirm-'));
    const dir = join(work, 'run');
    expect(bash(`mkdir -p ${dir}; sleep 30 >/dev/null 2>&1 & echo $! > ${dir}/timer.pid`).status).toBe(0);
    expect(bash(decideScript(dir, 'confirmed').text).stdout).toContain('@decision confirmed');
    expect(readFileSync(join(dir, 'decision'), 'utf8')).toBe('confirmed\n');
    rmSync(work, { recursive: true, force: true });
  });

  it('a rollback decided now restores at once and says so', async () => {
    const { dir, mark, cleanup } = await armLocally();
    expect(bash(decideScript(dir, 'rollback').text).stdout).toContain('@decision rollback');
    await until(() => existsSync(join(dir, 'result')));
    expect(readFileSync(mark, 'utf8')).toBe('restored\n');
    expect(readFileSync(join(dir, 'result'), 'utf8')).toMatch(/^restored \d/);
    cleanup();
  }, 60_000);

  it('reads the state rpctl finds after reconnecting', () => {
    const output = Buffer.from('@applied\n').toString('base64');
    expect(
      parseConfirmState(
        `@confirm decision=rollback\n@confirm result=restored 1.5 2.25\n@confirm apply-output\n${output}\n@facts end\n`,
      ),
    ).toEqual({
      missing: false,
      decision: 'rollback',
      restored: { started: 1.5, ended: 2.25 },
      applyOutput: '@applied\n',
    });
    expect(parseConfirmState('@confirm decision=\n@confirm result=\n')).toEqual({ missing: false });
    expect(parseConfirmState('@confirm missing\n')).toEqual({ missing: true });
  });
});
