/**
 * Faults injected for real (issue 16): a managed service stopped inside the appliance, and local
 * problems (an --output that is a directory, a FIFO or /dev/zero as a `file:` secret) that must
 * stop rpctl before it contacts any appliance.
 *
 * Shares the global lab: lab-1 (v4) manages upstreams, lab-2 (v7) upstreams and turn. Every test
 * leaves the services running as it found them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientFiles, labConfig, labExec, labSh, readState } from './lab.js';
import { acceptedLogins, labInventoryFile, rpctl, scratch } from './rpctl.js';

const [v4, v7] = readState()!.appliances.map((a) => a.name) as [string, string];

const running = (host: string, service: string) => labExec(host, ['service', service, 'status']).status === 0;

/** lab-2 also manages its TURN server (the lab's own credentials: nothing to change). */
const inventory = labInventoryFile((doc) => {
  doc.appliances[v7].turn = {
    credentials: { username: 'pexip', password: `file:${clientFiles().turnPasswordFile}` },
    externalIp: null,
  };
});

describe('a managed service that is not running', () => {
  it('nginx stopped: drift in every format, exit 2; apply starts it (not a reload) and verifies :443', async () => {
    labSh(v4, 'service nginx stop');
    try {
      expect(running(v4, 'nginx')).toBe(false);
      const limit = ['--limit', v4];
      const text = await rpctl(['drift', '-i', inventory, ...limit]);
      expect(text.code, text.stderr).toBe(2);
      expect(text.stdout).toContain(`${v4}: drift (1 change)`);
      expect(text.stdout).toContain('~ services: nginx is not running: start it');

      const json = await rpctl(['drift', '-i', inventory, ...limit, '--format', 'json']);
      expect(json.code).toBe(2);
      const host = JSON.parse(json.stdout).hosts[0];
      expect(host.services).toEqual([{ service: 'nginx', running: false }]);

      const junit = await rpctl(['drift', '-i', inventory, ...limit, '--format', 'junit']);
      expect(junit.code).toBe(2);
      expect(junit.stdout).toMatch(
        /<testcase classname="lab-1" name="services"[^>]*>\s*<failure type="drift" message="nginx is not running: start it"/,
      );

      const metrics = await rpctl(['drift', '-i', inventory, ...limit, '--format', 'prometheus']);
      expect(metrics.code).toBe(2);
      expect(metrics.stdout).toContain(`rpctl_service_up{host="${v4}",service="nginx"} 0`);

      // an upstream change too: its handler used to "reload" the stopped nginx and say changed
      const moved = labInventoryFile((doc) => doc.appliances[v4].upstreams.nodes.push('127.0.3.77'));
      const apply = await rpctl(['apply', '-i', moved, ...limit, '--yes', '--format', 'json']);
      expect(apply.code, apply.stderr).toBe(0);
      const applied = JSON.parse(apply.stdout).hosts[0];
      expect(applied.status).toBe('changed');
      expect(applied.changes.map((c: { summary: string }) => c.summary)).toEqual([
        'add 127.0.3.77:443',
        'nginx is not running: start it',
      ]);
      expect(applied.verification).toEqual(
        expect.arrayContaining([
          { ok: true, message: 'nginx runs' },
          { ok: true, message: 'nginx completes a TLS handshake on :443' },
        ]),
      );
      expect(running(v4, 'nginx')).toBe(true);

      const back = await rpctl(['apply', '-i', inventory, ...limit, '--yes']);
      expect(back.code, back.stderr).toBe(0);
      const after = await rpctl(['drift', '-i', inventory, ...limit, '--format', 'prometheus']);
      expect(after.code, after.stdout).toBe(0);
      expect(after.stdout).toContain(`rpctl_service_up{host="${v4}",service="nginx"} 1`);
    } finally {
      if (!running(v4, 'nginx')) labSh(v4, 'service nginx start');
    }
  });

  it('the TURN server (coturn on v7) stopped: drift exit 2, apply starts it without --allow-disruptive', async () => {
    labSh(v7, 'service coturn stop');
    try {
      const limit = ['--limit', v7];
      const drift = await rpctl(['drift', '-i', inventory, ...limit, '--format', 'prometheus']);
      expect(drift.code, drift.stderr).toBe(2);
      expect(drift.stdout).toContain(`rpctl_service_up{host="${v7}",service="coturn"} 0`);
      expect(drift.stdout).toContain(`rpctl_service_up{host="${v7}",service="nginx"} 1`);

      const apply = await rpctl(['apply', '-i', inventory, ...limit, '--yes']);
      expect(apply.code, apply.stderr).toBe(0);
      expect(apply.stdout).toContain('coturn is not running: start it');
      expect(running(v7, 'coturn')).toBe(true);
    } finally {
      if (!running(v7, 'coturn')) labSh(v7, 'service coturn start');
    }
  });
});

describe('local problems stop rpctl before any contact (exit 3)', () => {
  it('--output is a directory: nothing applied, no temp file', async () => {
    const out = join(scratch, 'reports');
    mkdirSync(out, { recursive: true });
    const moved = labInventoryFile((doc) => doc.appliances[v4].upstreams.nodes.push('127.0.3.78'));
    const logins = acceptedLogins(v4);
    const result = await rpctl(['apply', '-i', moved, '--limit', v4, '--yes', '--output', out]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`--output ${out} is a directory`);
    expect(acceptedLogins(v4)).toBe(logins);
    expect(readdirSync(scratch).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a FIFO or a link to /dev/zero as a file: secret is refused at once, naming its line', async () => {
    const fifo = join(scratch, 'sudo-fifo');
    execFileSync('mkfifo', [fifo]);
    const zero = join(scratch, 'sudo-zero');
    symlinkSync('/dev/zero', zero);
    for (const [path, kind] of [
      [fifo, 'a FIFO'],
      [zero, 'a character device'],
    ] as const) {
      const bad = labInventoryFile((doc) => (doc.defaults.sudo.password = `file:${path}`));
      const logins = acceptedLogins(v4);
      const started = Date.now();
      const result = await rpctl(['plan', '-i', bad, '--limit', v4]);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(
        new RegExp(`secret file:${path} \\(sudo\\.password of ${v4} at ${bad}:\\d+:\\d+\\)`),
      );
      expect(result.stderr).toContain(`it is not a regular file (${kind})`);
      expect(acceptedLogins(v4)).toBe(logins);
    }
  });
});

/**
 * bin/rpctl as a child process, signalled by PID once it says the host is applying. The apply is
 * slowed on the appliance by a `service` that sleeps first (removed afterwards).
 */
async function signalledApply(host: string, signals: NodeJS.Signals[], stateDir: string) {
  const moved = labInventoryFile((doc) => doc.appliances[host].upstreams.nodes.push('127.0.3.79'));
  const child = spawn(process.execPath, ['bin/rpctl', 'apply', '-i', moved, '--limit', host, '--yes'], {
    cwd: labConfig().repoRoot,
    env: { ...process.env, NO_COLOR: '1', RPCTL_STATE_DIR: stateDir },
  });
  let stderr = '';
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
    child.on('exit', (code) => resolve({ code, ms: performance.now() - signalledAt }));
  });
  let signalledAt = 0;
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.includes(`${host}: applying`)) resolve();
    });
  });
  signalledAt = performance.now();
  for (const signal of signals) {
    child.kill(signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const { code, ms } = await exited;
  const records = readdirSync(join(stateDir, 'runs'));
  const record = JSON.parse(readFileSync(join(stateDir, 'runs', records[0]!), 'utf8'));
  return { code, ms, stderr, record, records };
}

describe('signals during apply', () => {
  const slowService = (host: string) =>
    labSh(
      host,
      'printf \'#!/bin/sh\\nsleep 1\\nexec /usr/sbin/service "$@"\\n\' > /usr/local/sbin/service && chmod 755 /usr/local/sbin/service',
    );
  const restore = async (host: string) => {
    labSh(host, 'rm -f /usr/local/sbin/service');
    const back = await rpctl(['apply', '-i', inventory, '--limit', host, '--yes', '--lock-timeout', '30']);
    expect(back.code, back.stderr).toBe(0);
  };

  it('SIGTERM: says the started change will finish, waits for it, writes the run record, exits 143', async () => {
    slowService(v4);
    try {
      const stateDir = join(scratch, 'state-sigterm');
      const { code, stderr, record } = await signalledApply(v4, ['SIGTERM'], stateDir);
      expect(stderr).toContain(`SIGTERM: the change already started on 1 host (${v4}) will finish there`);
      expect(code).toBe(143);
      expect(record.interrupted).toBe('SIGTERM');
      expect(record.hosts.map((h: { name: string; status: string }) => [h.name, h.status])).toEqual([
        [v4, 'changed'],
      ]);
      expect(labSh(v4, 'cat /etc/nginx/sites-available/pexapp')).toContain('127.0.3.79');
    } finally {
      await restore(v4);
    }
  });

  it('a second SIGINT leaves at once: exit 130, the run record says the outcome is unknown', async () => {
    slowService(v4);
    try {
      const stateDir = join(scratch, 'state-sigint');
      const { code, ms, stderr, record } = await signalledApply(v4, ['SIGINT', 'SIGINT'], stateDir);
      expect(stderr).toContain('SIGINT again: leaving now');
      expect(code).toBe(130);
      // the handler alone takes over 3 s on the appliance (three slowed `service` calls)
      expect(ms).toBeLessThan(2500);
      expect(record.interrupted).toBe('SIGINT');
      expect(record.hosts).toEqual([expect.objectContaining({ name: v4, status: 'unknown' })]);
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 4000)); // the appliance's apply ends
      await restore(v4);
    }
  });
});
