/**
 * The engine's shell scripts (facts, apply, rollback) run as root inside a real appliance, without
 * SSH: what they promise about files, backups, validation and handlers holds on a real system.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApplyScriptInput,
  applyScript,
  parseApplyOutput,
  rollbackScript,
} from '../../src/engine/apply-script.js';
import { factsBody, mergeFactSpecs, parseFacts } from '../../src/engine/facts.js';
import { sh } from '../../src/transport/shell.js';
import { labExec, labSh, nginxWorkers, readState, reset } from './lab.js';

const host = readState()!.appliances.find((a) => a.generation === 'v7')!.name;
const PEXAPP = '/etc/nginx/sites-available/pexapp';
const NEW_FILE = '/etc/rpctl-test.conf';
const spec = mergeFactSpecs([
  {
    files: [{ path: PEXAPP }, { path: NEW_FILE }, { path: '/etc/nginx/ssl/pexip.pem', read: 'certificates' }],
  },
]);

const facts = () => parseFacts(host, spec, labExec(host, ['sh', '-c', factsBody(spec).text]).stdout);
const nginxPids = () => nginxWorkers(host);
let upload = 0;

function run(input: Partial<ApplyScriptInput> & { contents?: Record<string, string> }) {
  const dir = `/tmp/rpctl-test-${++upload}`;
  labSh(host, `rm -rf ${dir}; mkdir -m 700 ${dir}`);
  for (const [name, content] of Object.entries(input.contents ?? {})) {
    labExec(host, ['sh', '-c', `cat > ${dir}/${name}`], { input: content });
  }
  const full: ApplyScriptInput = {
    runId: `test-${upload}`,
    uploadDir: dir,
    files: [],
    touches: [],
    steps: [],
    validate: [sh`nginx -t`],
    handlers: [{ id: 'nginx:reload', command: sh`service nginx reload` }],
    factsAfter: factsBody(spec),
    ...input,
  };
  const result = labExec(host, ['sh', '-c', applyScript(full).text]);
  return { result, outcome: parseApplyOutput(result.stdout), full, dir };
}

describe('apply script on a real appliance', () => {
  beforeAll(async () => {
    await reset([host]);
  });
  afterAll(async () => {
    await reset([host]);
  });

  it('reads a pexip.pem without its private key, and absent files as absent', () => {
    const f = facts();
    const pem = f.file('/etc/nginx/ssl/pexip.pem');
    expect(pem.exists && pem.mode).toBe(0o400);
    expect(f.text('/etc/nginx/ssl/pexip.pem')).toContain('BEGIN CERTIFICATE');
    expect(f.text('/etc/nginx/ssl/pexip.pem')).not.toContain('PRIVATE KEY');
    expect(f.file(NEW_FILE).exists).toBe(false);
  });

  it('restores the file byte for byte and reloads nothing when validation fails', () => {
    const before = facts().file(PEXAPP);
    if (!before.exists) throw new Error('no pexapp');
    const pids = nginxPids();
    const broken = before.content
      .toString()
      .replace('keepalive 1024;', 'keepalive 1024;\n    not_a_directive on;');
    const { outcome, dir } = run({
      files: [
        {
          path: PEXAPP,
          uploadName: 'f',
          mode: 0o644,
          owner: 'root',
          group: 'root',
          expectedSha256: before.sha256,
        },
      ],
      contents: { f: broken },
    });
    expect(outcome).toMatchObject({ kind: 'failed', stage: 'validate', restored: true });
    expect(outcome.kind === 'failed' && outcome.output).toMatch(/\[emerg\].*not_a_directive/);
    const after = facts().file(PEXAPP);
    expect(after.exists && after.sha256).toBe(before.sha256);
    expect(nginxPids()).toBe(pids);
    expect(labExec(host, ['test', '-e', dir]).status).toBe(1); // upload directory removed
    expect(labExec(host, ['test', '-e', '/var/lib/rpctl/journal']).status).toBe(1);
  });

  it('puts back the sibling backup a failed apply overwrote, and removes one it created', () => {
    const before = facts().file(PEXAPP);
    if (!before.exists) throw new Error('no pexapp');
    const sibling = `${PEXAPP}.backup`;
    const broken = `${before.content.toString()}\nnot_a_directive on;\n`;
    const install = {
      path: PEXAPP,
      uploadName: 'f',
      mode: 0o644,
      owner: 'root',
      group: 'root',
      expectedSha256: before.sha256,
      siblingBackup: 'pexapp.backup',
    };
    labSh(host, `rm -f ${sibling}`);
    expect(run({ files: [install], contents: { f: broken } }).outcome).toMatchObject({ kind: 'failed' });
    expect(labExec(host, ['test', '-e', sibling]).status).toBe(1);
    labSh(host, `echo 'an older backup' > ${sibling}`);
    expect(run({ files: [install], contents: { f: broken } }).outcome).toMatchObject({ kind: 'failed' });
    expect(labSh(host, `cat ${sibling}`)).toBe('an older backup\n');
    labSh(host, `rm -f ${sibling}`);
  });

  it('stops before touching anything when a file changed since it was planned', () => {
    const before = facts().file(PEXAPP);
    const { outcome } = run({
      files: [
        {
          path: PEXAPP,
          uploadName: 'f',
          mode: 0o644,
          owner: 'root',
          group: 'root',
          expectedSha256: '0'.repeat(64),
        },
      ],
      contents: { f: 'anything' },
    });
    expect(outcome).toEqual({ kind: 'stale', index: 0 });
    expect(facts().file(PEXAPP)).toEqual(before);
  });

  it('installs atomically with owner and mode, keeps backups, runs the handler once, prints facts after', () => {
    const before = facts().file(PEXAPP);
    if (!before.exists) throw new Error('no pexapp');
    const pids = nginxPids();
    const wanted = before.content
      .toString()
      .replace('    keepalive 1024;', '    server 127.0.3.50:443 weight=1 max_fails=0;\n    keepalive 1024;');
    const { outcome, result, full } = run({
      files: [
        {
          path: PEXAPP,
          uploadName: 'f',
          mode: 0o640,
          owner: 'root',
          group: 'adm',
          expectedSha256: before.sha256,
          siblingBackup: 'pexapp.backup',
        },
        { path: NEW_FILE, uploadName: 'g', mode: 0o600, owner: 'root', group: 'root', expectedSha256: null },
      ],
      contents: { f: wanted, g: 'new\n' },
    });
    expect(outcome).toEqual({ kind: 'applied' });
    const after = parseFacts(host, spec, result.stdout);
    const written = after.file(PEXAPP);
    expect(
      written.exists && [written.content.toString(), written.mode, written.owner, written.group],
    ).toEqual([wanted, 0o640, 'root', 'adm']);
    expect(after.text(NEW_FILE)).toBe('new\n');
    expect(labSh(host, `cat ${PEXAPP}.backup`)).toBe(before.content.toString());
    expect(labSh(host, `cat /var/backups/rpctl/${full.runId}${PEXAPP}`)).toBe(before.content.toString());
    expect(labSh(host, `ls -a /etc/nginx/sites-available`)).not.toMatch(/rpctl-new/);
    expect(nginxPids()).not.toBe(pids);
    expect(labSh(host, 'nginx -T 2>/dev/null')).toContain('server 127.0.3.50:443');

    // rollback puts both files back as they were (the new one removed) and reloads again
    const back = labExec(host, ['sh', '-c', rollbackScript(full).text]);
    const restored = parseFacts(host, spec, back.stdout);
    expect(restored.file(PEXAPP)).toEqual(before);
    expect(restored.file(NEW_FILE).exists).toBe(false);
    expect(labSh(host, 'nginx -T 2>/dev/null')).not.toContain('127.0.3.50');
  });

  it('restores what a failing step touched and skips validation and handlers', () => {
    const before = facts().file(PEXAPP);
    const pids = nginxPids();
    const { outcome } = run({
      touches: [PEXAPP],
      steps: [{ summary: 'scribble then fail', command: sh`echo scribble >> ${PEXAPP}; false` }],
    });
    expect(outcome).toMatchObject({ kind: 'failed', stage: 'step', index: 0, restored: true });
    expect(facts().file(PEXAPP)).toEqual(before);
    expect(nginxPids()).toBe(pids);
  });
});
