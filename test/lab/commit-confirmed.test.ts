/**
 * Commit-confirmed is the engine's, not the network recipe's: here a stand-in recipe on an ordinary
 * (not networked) lab appliance whose handler reloads sshd with a new `AllowUsers`. sshd keeps the
 * connections it has and refuses new ones, so only a NEW connection shows the damage, which is
 * exactly what the engine confirms over.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bufferIo } from '../../src/cli/io.js';
import { run } from '../../src/cli/program.js';
import type { Recipe } from '../../src/engine/contract.js';
import { sh } from '../../src/transport/shell.js';
import { baseFacts, sections } from '../registry.js';
import { labSh, readState, reset, spec } from './lab.js';
import { labInventoryFile, scratch } from './rpctl.js';

const host = readState()!.appliances.find((a) => a.generation === 'v4')!.name;
const SSHD = '/etc/ssh/sshd_config';
const WINDOW = 10;

interface Desired {
  allowUsers: string;
}

/** Sets `AllowUsers` of sshd_config and reloads sshd: it may cut rpctl's (next) SSH connection. */
const allowUsers: Recipe<Desired> = {
  name: 'sshd-allow-users',
  description: 'AllowUsers of sshd (test)',
  section: 'sshdTest',
  desired: (ctx) => ctx.appliance.sections.sshdTest as Desired | undefined,
  facts: { files: [{ path: SSHD }] },
  plan(desired, facts) {
    const text = facts.text(SSHD) ?? '';
    const edited = text.replace(/^AllowUsers .*$/m, `AllowUsers ${desired.allowUsers}`);
    if (edited === text) return { changes: [] };
    return {
      changes: [
        {
          summary: `AllowUsers ${desired.allowUsers}`,
          writes: [{ path: SSHD, content: edited }],
          validate: [sh`/usr/sbin/sshd -t`],
          notify: [
            { id: 'ssh:reload', command: sh`service ssh reload`, disruptive: false, mayCutSshPath: {} },
          ],
        },
      ],
    };
  },
  verify: (desired, after) => [
    {
      kind: 'assert',
      ok: (after.text(SSHD) ?? '').includes(`\nAllowUsers ${desired.allowUsers}\n`),
      message: `sshd allows ${desired.allowUsers}`,
    },
  ],
};

const registry = {
  recipes: [allowUsers],
  // the lab inventory's own sections load as usual; only this recipe is run
  sections: [
    ...sections,
    { key: 'sshdTest', description: 'test', schema: z.strictObject({ allowUsers: z.string() }) },
  ],
  baseFacts,
};

async function apply(users: string) {
  const inventory = labInventoryFile((doc) => {
    doc.appliances[host].sshdTest = { allowUsers: users };
  });
  const { io, stdout, stderr } = bufferIo({
    env: { ...process.env, NO_COLOR: '1', RPCTL_STATE_DIR: `${scratch}/state` },
  });
  const started = performance.now();
  const argv = ['apply', '-i', inventory, '--limit', host, '--yes', '--allow-disruptive', '--format', 'json'];
  const code = await run([...argv, '--confirm-timeout', String(WINDOW)], io, registry);
  if (stdout() === '') throw new Error(`rpctl printed no report (exit ${code}): ${stderr()}`);
  const report = JSON.parse(stdout()) as {
    hosts: {
      status: string;
      error?: { reason: string; message: string };
      notes?: string[];
      stats: { connections: number };
    }[];
  };
  return { code, host: report.hosts[0]!, stderr: stderr(), ms: performance.now() - started };
}

const sshdConfig = () => labSh(host, `sha256sum ${SSHD}`);
const confirmState = () =>
  labSh(host, "ls /var/lib/rpctl/confirm 2>/dev/null; pgrep -f 'rpctl-rollbac[k]' || true").trim();

describe('commit-confirmed (engine), with a handler that cuts new SSH connections', () => {
  afterAll(async () => {
    await reset([host]);
  }, 120_000);

  it('confirms over a new connection when new connections still work; nothing rolls back after the window', async () => {
    const result = await apply('pexip root');
    expect(result.code, result.stderr).toBe(0);
    expect(result.host.status).toBe('changed');
    expect(result.host.stats.connections).toBe(2);
    expect(result.host.notes?.[0]).toMatch(/a new SSH connection over .* verified; confirmed after/);
    const confirmed = sshdConfig();
    await new Promise((resolve) => setTimeout(resolve, (WINDOW + 2) * 1000));
    expect(sshdConfig()).toBe(confirmed);
    expect(confirmState()).toBe('');
  });

  it('rolls back by itself when only the old connection still works, and reports the host failed', async () => {
    const before = sshdConfig();
    const result = await apply('nobody');
    expect(result.code).toBe(1);
    expect(result.host.status).toBe('failed');
    expect(result.host.error?.reason).toBe('unconfirmed');
    expect(result.host.error?.message).toMatch(
      new RegExp(
        `^${host}: no new SSH connection over ${spec(host).address.replaceAll('.', '\\.')} within the ${WINDOW} s window \\(.*\\); the host rolled back by itself; the previous files and state are back$`,
      ),
    );
    expect(result.ms).toBeGreaterThan(WINDOW * 1000);
    expect(sshdConfig()).toBe(before);
    expect(confirmState()).toBe('');
  });
});
