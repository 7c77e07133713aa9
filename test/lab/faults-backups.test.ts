/**
 * Faults around backups and the journal, injected inside a real appliance (issue 16: points 1, 3,
 * 9, 10): a full or read-only /var/backups/rpctl, a backup that no longer matches its record, a
 * reboot while `nginx -t` runs, a full /tmp. One appliance, reset once at the end; each test puts
 * back what it changed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyScript, parseApplyOutput, rollbackScript } from '../../src/engine/apply-script.js';
import { factsBody, mergeFactSpecs } from '../../src/engine/facts.js';
import { sh } from '../../src/transport/shell.js';
import { applianceRoot, initPid, labExec, labSh, readState, reset, spec } from './lab.js';
import { type InventoryDoc, labInventoryFile, rpctl } from './rpctl.js';

const host = readState()!.appliances.find((a) => a.generation === 'v7')!.name;
const PEXAPP = '/etc/nginx/sites-available/pexapp';
const BACKUPS = '/var/backups/rpctl';
/** a node the appliance cannot resolve: nginx -t fails on it */
const UNRESOLVABLE = 'conf-node-30.lab.example.com';

const pexapp = () => labSh(host, `cat ${PEXAPP}`);
const litter = () =>
  labSh(host, 'ls -A /etc/nginx/sites-available /tmp | grep -E "rpctl|^tmp\\." || true').trim();
const serves = () => labExec(host, ['sh', '-c', 'nginx -t 2>/dev/null && service nginx status']).status === 0;

function inventory(nodes: unknown[], edit?: (doc: InventoryDoc) => void): string {
  return labInventoryFile((doc) => {
    doc.appliances[host].upstreams = { nodes };
    edit?.(doc);
  });
}
const apply = (inv: string) => rpctl(['apply', '-i', inv, '--limit', host, '--yes', '--format', 'json']);
const hostOf = (stdout: string) =>
  (
    JSON.parse(stdout) as {
      hosts: {
        status: string;
        error?: { reason: string; message: string };
        notes?: string[];
        interrupted?: string;
      }[];
    }
  ).hosts[0]!;

describe('faults: backups, journal, litter', () => {
  afterAll(async () => {
    await reset([host]);
  });

  it.each([
    [
      'full (tmpfs at ENOSPC)',
      'mount -t tmpfs -o size=64k tmpfs DIR && (dd if=/dev/zero of=DIR/fill bs=4k 2>/dev/null; true)',
      /No space left on device/,
    ],
    ['read-only', 'mount --bind DIR DIR && mount -o remount,bind,ro DIR', /Read-only file system/],
  ])(
    'backups %s, then a failed validation: stops before installing, names the directory, live file intact',
    async (_, inject, why) => {
      const before = pexapp();
      labSh(host, `mkdir -p ${BACKUPS} && ${inject.replaceAll('DIR', BACKUPS)}`);
      try {
        const result = await apply(inventory([...spec(host).nodes, UNRESOLVABLE]));
        expect(result.code).toBe(1);
        const outcome = hostOf(result.stdout);
        expect(outcome.error?.reason).toBe('backup');
        expect(outcome.error?.message).toMatch(
          new RegExp(
            `^${host}: backing up ${PEXAPP} into ${BACKUPS}/\\S+ failed: .*${why.source}.*; nothing was changed$`,
          ),
        );
      } finally {
        labSh(host, `umount ${BACKUPS}`);
      }
      expect(pexapp()).toBe(before);
      expect(serves()).toBe(true);
      expect(litter()).toBe('');
      expect(labExec(host, ['test', '-e', '/var/lib/rpctl/journal']).status).toBe(1);
    },
  );

  it('/etc/nginx/sites-available full: the install fails, the file is restored, no temp file is left', async () => {
    const before = pexapp();
    const dir = '/etc/nginx/sites-available';
    labSh(
      host,
      `cp ${PEXAPP} /run/pexapp && mount -t tmpfs -o size=16k tmpfs ${dir} && cp /run/pexapp ${PEXAPP} && (dd if=/dev/zero of=${dir}/.fill bs=4k 2>/dev/null; true)`,
    );
    try {
      const result = await apply(inventory([...spec(host).nodes, '127.0.3.41']));
      expect(result.code).toBe(1);
      expect(hostOf(result.stdout).error?.message).toMatch(
        new RegExp(
          `^${host}: installing ${PEXAPP} failed: .*No space left on device.*; previous files restored$`,
        ),
      );
      expect(litter()).toBe('');
      expect(pexapp()).toBe(before);
    } finally {
      labSh(host, `umount ${dir}; rm -f /run/pexapp`);
    }
  });

  it('a restore refuses a backup whose size or sha256 changed, and leaves the live file alone', () => {
    const spec1 = mergeFactSpecs([{ files: [{ path: PEXAPP }] }]);
    const dir = '/tmp/rpctl-faults-upload';
    const changed = `${pexapp()}\n# changed\n`;
    labSh(host, `rm -rf ${dir}; mkdir -m 700 ${dir}`);
    labExec(host, ['sh', '-c', `cat > ${dir}/f`], { input: changed });
    const sha = labSh(host, `sha256sum < ${PEXAPP} | cut -c1-64`).trim();
    const input = {
      runId: '00000000T000000Z-fault1',
      uploadDir: dir,
      files: [
        { path: PEXAPP, uploadName: 'f', mode: 0o644, owner: 'root', group: 'root', expectedSha256: sha },
      ],
      touches: [],
      steps: [],
      validate: [sh`nginx -t`],
      handlers: [],
      factsAfter: factsBody(spec1),
    };
    expect(parseApplyOutput(labExec(host, ['sh', '-c', applyScript(input).text]).stdout)).toEqual({
      kind: 'applied',
    });
    // the backup is 0600 root, in a 0700 directory, recorded with its size and sha256
    expect(labSh(host, `stat -c '%a %U' ${BACKUPS}/${input.runId} ${BACKUPS}/${input.runId}${PEXAPP}`)).toBe(
      '700 root\n600 root\n',
    );
    expect(labSh(host, `cat ${BACKUPS}/${input.runId}/.rpctl-manifest`)).toMatch(
      new RegExp(`^${sha} \\d+ 644 root root ${PEXAPP}\\n$`),
    );
    labSh(host, `: > ${BACKUPS}/${input.runId}${PEXAPP}`); // the backup truncated behind rpctl's back
    const back = labExec(host, ['sh', '-c', rollbackScript(input).text]).stdout;
    expect(back).toContain(`@unrestorable differs ${PEXAPP}`);
    expect(pexapp()).toBe(changed);
    expect(litter()).toBe('');
    labSh(host, `rm -rf ${BACKUPS}/${input.runId}`);
  });

  it('a reboot during nginx -t leaves the journal; plan and drift report it; apply validates, restores and starts nginx', async () => {
    const before = pexapp();
    // `nginx -t` reboots the appliance while a marker in /run exists (gone after the boot)
    labSh(
      host,
      `printf '%s\\n' '#!/bin/sh' '[ "$1" = -t ] && [ -e /run/reboot-on-nginx-t ] && { reboot; sleep 30; }' 'exec /usr/sbin/nginx "$@"' > /usr/local/sbin/nginx && chmod 755 /usr/local/sbin/nginx && touch /run/reboot-on-nginx-t`,
    );
    const pid = initPid(host);
    try {
      const cut = await apply(inventory([...spec(host).nodes, UNRESOLVABLE]));
      expect(cut.code).toBe(1);
      await rebooted(pid);
      expect(serves()).toBe(false); // the unvalidated file is live and nginx did not start
      const original = inventory(spec(host).nodes);
      const plan = await rpctl(['plan', '-i', original, '--limit', host]);
      expect(plan.code).toBe(2);
      const said =
        new RegExp(`interrupted apply \\S+ at \\S+Z \\(files ${PEXAPP}\\)`).exec(plan.stdout)?.[0] ?? '';
      expect(said, plan.stdout).not.toBe('');
      expect(labSh(host, 'cat /var/lib/rpctl/journal')).toMatch(
        /^validate .+\nhandler nginx:reload .+\nsaved [0-9a-f]{64} \d+ 644 root root \/etc\/nginx/m,
      );
      const drift = await rpctl(['drift', '-i', original, '--limit', host]);
      expect(drift.code).toBe(2);
      expect(drift.stdout).toContain(said);

      const fixed = await apply(original);
      expect(fixed.code, fixed.stdout).toBe(0);
      expect(hostOf(fixed.stdout).notes?.[0]).toMatch(
        new RegExp(
          `^resolved ${said.replace(/[()]/g, '\\$&')}: validation failed \\(.*host not found in upstream.*\\), its backups restored; handlers run$`,
        ),
      );
    } finally {
      labSh(host, 'rm -f /usr/local/sbin/nginx /run/reboot-on-nginx-t');
    }
    expect(pexapp()).toBe(before);
    expect(serves()).toBe(true);
    expect(labExec(host, ['test', '-e', '/var/lib/rpctl/journal']).status).toBe(1);
    const again = await rpctl(['drift', '-i', inventory(spec(host).nodes), '--limit', host]);
    expect(again.code).toBe(0);
  });

  it('prunes /var/backups/rpctl to backups.keep runs after a successful apply; leaves nothing in /tmp', async () => {
    const old = ['20200101T000000Z-aaaaaa', '20200102T000000Z-bbbbbb', '20200103T000000Z-cccccc'];
    labSh(host, `rm -rf ${BACKUPS}/*; for r in ${old.join(' ')}; do mkdir -p ${BACKUPS}/$r; done`);
    const result = await apply(
      inventory([...spec(host).nodes, '127.0.3.40'], (doc) => {
        doc.defaults.backups = { keep: 2 };
      }),
    );
    expect(result.code, result.stdout).toBe(0);
    const runs = labSh(host, `ls ${BACKUPS}`).trim().split('\n');
    expect(runs).toHaveLength(2);
    expect(runs[0]).toBe(old[2]);
    expect(litter()).toBe('');
  });

  it('/tmp full on the appliance: "no space left in /tmp", the host name once', async () => {
    labSh(
      host,
      'mount -t tmpfs -o size=64k tmpfs /tmp && (dd if=/dev/zero of=/tmp/fill bs=4k 2>/dev/null; true)',
    );
    try {
      const result = await rpctl(['drift', '-i', inventory(spec(host).nodes), '--limit', host]);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(
        `${host}: FAILED\n  reading facts failed: no space left in /tmp on the appliance`,
      );
      expect(result.stdout + result.stderr).not.toContain(`${host}: ${host}:`);
    } finally {
      labSh(host, 'umount /tmp');
    }
  });
});

/** Wait for the appliance's next boot to finish (`ready` written by a new PID 1). */
async function rebooted(oldPid: number): Promise<void> {
  const ready = join(applianceRoot(host), 'ready');
  for (let i = 0; i < 600; i++) {
    let pid: number | undefined;
    try {
      pid = initPid(host);
    } catch {
      pid = undefined;
    }
    if (pid !== undefined && pid !== oldPid && existsSync(ready) && readFileSync(ready, 'utf8')) {
      if (labExec(host, ['sh', '-c', 'pgrep -x sshd > /dev/null']).status === 0) return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${host} did not come back after its reboot`);
}
