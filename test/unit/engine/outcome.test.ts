/** Reading an apply's outcome after its connection dropped (outcome.ts): parsing, deciding, the host side. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApplyContext } from '../../../src/engine/apply-result.js';
import { recordedDetached } from '../../../src/engine/confirm-script.js';
import {
  afterApplyError,
  nextOutcomeStep,
  outcomeReadScript,
  parseOutcomeRead,
  readOutcomeAfterReconnect,
  timedOutOutcome,
  unknownOutcome,
} from '../../../src/engine/outcome.js';
import { HostError } from '../../../src/errors.js';
import { script } from '../../../src/transport/shell.js';
import type { ExecResult, HostSession } from '../../../src/transport/types.js';

const bash = (text: string) => spawnSync('bash', ['-c', text], { encoding: 'utf8' });

describe('parsing and deciding', () => {
  it('parses the three answers of the read, and no answer', () => {
    expect(parseOutcomeRead('@outcome done\n@applied\n@facts end\n')).toEqual({
      kind: 'done',
      output: '@applied\n@facts end\n',
    });
    expect(parseOutcomeRead('@outcome running\n')).toEqual({ kind: 'running' });
    expect(parseOutcomeRead('@outcome missing\n')).toEqual({ kind: 'missing' });
    expect(parseOutcomeRead(undefined)).toEqual({ kind: 'no-answer' });
    expect(parseOutcomeRead('')).toEqual({ kind: 'no-answer' }); // cut short
  });

  it('waits for a running apply until the deadline, then the outcome is unknown', () => {
    expect(nextOutcomeStep({ kind: 'running' }, 1000, 2000)).toEqual({ kind: 'wait' });
    expect(nextOutcomeStep({ kind: 'running' }, 2000, 2000)).toEqual({
      kind: 'unknown',
      cause: 'still-running',
    });
    expect(nextOutcomeStep({ kind: 'done', output: 'x' }, 5000, 2000)).toEqual({ kind: 'read', output: 'x' });
    expect(nextOutcomeStep({ kind: 'missing' }, 0, 2000)).toEqual({ kind: 'unknown', cause: 'missing' });
    expect(nextOutcomeStep({ kind: 'no-answer' }, 0, 2000)).toEqual({ kind: 'unknown', cause: 'no-answer' });
  });

  it('says why the outcome is unknown and where it may be read, in one line', () => {
    const details = {
      name: 'rp1',
      runId: 'r1',
      lost: 'connection lost: read ECONNRESET',
      address: '10.0.0.1',
      lastError: 'rp1: cannot connect: ECONNREFUSED',
      timeoutMs: 300_000,
    };
    const error = unknownOutcome('no-answer', details);
    expect(error).toBeInstanceOf(HostError);
    expect(error.reason).toBe('outcome-unknown');
    expect(error.message).toBe(
      'rp1: the connection dropped during the apply (connection lost: read ECONNRESET) and reading it over a new SSH connection to 10.0.0.1 failed (rp1: cannot connect: ECONNREFUSED): its outcome is unknown; check /var/lib/rpctl/outcome/r1 on the appliance, then run plan',
    );
    expect(unknownOutcome('still-running', details).message).toContain(
      'the apply was still running 300 s after it was sent',
    );
  });
});

describe('the host side (a local shell in a scratch directory)', () => {
  it('an apply whose connection survives prints its output and leaves no outcome directory', () => {
    const work = mkdtempSync(join(tmpdir(), 'rpctl-outcome-'));
    const dir = join(work, 'outcome', 'r1');
    const run = bash(recordedDetached(script(`echo '@applied'; : > ${dir}/apply.done`), dir, true).text);
    expect(run.stdout).toBe('@applied\n');
    expect(existsSync(dir)).toBe(false);
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps the output root-only (0600 in a 0700 directory) while the apply runs; the apply keeps its umask', () => {
    const work = mkdtempSync(join(tmpdir(), 'rpctl-outcome-'));
    const dir = join(work, 'r1');
    const body = script(`umask; stat -c %a ${dir} ${dir}/apply.out > ${work}/modes; : > ${dir}/apply.done`);
    const run = bash(`umask 022; ${recordedDetached(body, dir).text}`);
    expect(run.stdout).toBe('0022\n');
    expect(bash(`cat ${work}/modes`).stdout).toBe('700\n600\n');
    rmSync(work, { recursive: true, force: true });
  });

  it('the read says running, then done with the output; missing when there is no directory', () => {
    const work = mkdtempSync(join(tmpdir(), 'rpctl-outcome-'));
    const dir = join(work, 'r1');
    expect(bash(outcomeReadScript(dir).text).stdout).toBe('@outcome missing\n');
    mkdirSync(dir);
    writeFileSync(join(dir, 'apply.out'), '@applied\n');
    expect(bash(outcomeReadScript(dir).text).stdout).toBe('@outcome running\n');
    writeFileSync(join(dir, 'apply.done'), '');
    expect(bash(outcomeReadScript(dir).text).stdout).toBe('@outcome done\n@applied\n');
    expect(statSync(dir).isDirectory()).toBe(true); // removed only once read, by a separate exec
    rmSync(work, { recursive: true, force: true });
  });
});

describe('readOutcomeAfterReconnect', () => {
  const stats = { connections: 1, execs: 0, sftpSessions: 0, bytesSent: 0, bytesReceived: 0, handshakeMs: 0 };
  const answering = (answers: string[], log: string[]): HostSession => ({
    name: 'rp1',
    exec: async (command) => {
      log.push(command.text);
      const stdout = command.text.startsWith('rm -rf') ? '' : (answers.shift() ?? '');
      return { code: 0, stdout: Buffer.from(stdout), stderr: Buffer.alloc(0) } satisfies ExecResult;
    },
    execStream: async () => {
      throw new Error('not used');
    },
    terminal: async () => {
      throw new Error('not used');
    },
    stats,
    whenClosed: () => new Promise(() => {}),
    close: async () => {},
  });
  const context = (reconnect: ApplyContext['reconnect']): ApplyContext =>
    ({ runId: 'r1', applyTimeoutMs: 5000, confirmPollMs: 1, reconnect }) as unknown as ApplyContext;
  const target = { name: 'rp1', address: '10.0.0.1', sentAt: Date.now(), lost: 'connection lost' };

  it('waits for the apply to end, reads its output, then removes the directory', async () => {
    const log: string[] = [];
    const session = answering(['@outcome running\n', '@outcome done\n@applied\n'], log);
    let connections = 0;
    const read = await readOutcomeAfterReconnect(
      context(async () => {
        connections++;
        return session;
      }),
      target,
    );
    expect(read.kind).toBe('read');
    if (read.kind !== 'read') return;
    expect(read.output).toBe('@applied\n');
    expect(read.session).toBe(session);
    expect(read.note).toMatch(
      /^the connection dropped during the apply \(connection lost\); its outcome was read after reconnecting over 10\.0\.0\.1/,
    );
    expect(connections).toBe(1);
    expect(log.at(-1)).toBe('rm -rf /var/lib/rpctl/outcome/r1');
  });

  it('connects once only: a refused connection makes the outcome unknown at once', async () => {
    let connections = 0;
    const read = await readOutcomeAfterReconnect(
      context(async () => {
        connections++;
        throw new HostError('unreachable', 'rp1: cannot connect: ECONNREFUSED');
      }),
      target,
    );
    expect(connections).toBe(1);
    expect(read.kind).toBe('unknown');
    if (read.kind === 'unknown') expect(read.error.message).toContain('(rp1: cannot connect: ECONNREFUSED)');
  });

  it('an apply still running at the deadline is unknown', async () => {
    const log: string[] = [];
    const session = answering(Array(1000).fill('@outcome running\n'), log);
    const started = Date.now();
    const read = await readOutcomeAfterReconnect(
      context(async () => session),
      { ...target, sentAt: started - 4900 },
    );
    expect(read.kind).toBe('unknown');
    if (read.kind === 'unknown') expect(read.error.message).toContain('still running 5 s after it was sent');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('an apply exec that failed', () => {
  it('a dropped connection is read back; a timeout is unknown, never failed; anything else is the error', () => {
    expect(afterApplyError('connection')).toBe('reconnect');
    expect(afterApplyError('timeout')).toBe('unknown');
    expect(afterApplyError('sudo-auth')).toBe('error');
  });

  it('says the timed-out apply goes on and where its outcome is', () => {
    const error = timedOutOutcome('rp1', 'RUN', 300_000);
    expect(error.reason).toBe('outcome-unknown');
    expect(error.message).toBe(
      'rp1: the apply did not finish within 300 s and goes on on the appliance: its outcome is unknown; check /var/lib/rpctl/outcome/RUN on the appliance, then run plan',
    );
  });
});
