/**
 * Restoring the TURN user database after a failed change, against real coturn: coturn keeps the
 * SQLite file open in every thread that authenticates, so the engine must put a touched file
 * back in place (same inode). After a rename, those threads would go on reading the replaced
 * file and accept the password the failed change set.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { type ApplyScriptInput, applyScript, parseApplyOutput } from '../../src/engine/apply-script.js';
import { script, sh } from '../../src/transport/shell.js';
import { DOMAIN, labExec, labSh, readState, reset } from './lab.js';
import { allocate } from './turn-probe.js';

const host = readState()!.appliances.find((a) => a.generation === 'v7')!.name;

afterAll(async () => {
  await reset([host]);
}, 300_000);

describe('a failed TURN credential change', () => {
  it('puts the userdb back in place when a change fails: coturn then accepts only the old password', async () => {
    const password = `Failed-${randomBytes(6).toString('hex')}`;
    const current = `Now-${randomBytes(6).toString('hex')}`;
    labSh(
      host,
      `turnadmin -k -a -b /etc/turnuserdb.conf -u pexip -r ${DOMAIN} -p ${current} >/dev/null 2>&1`,
    );
    // coturn opens the database in each thread that authenticates, and keeps it open
    for (let i = 0; i < 4; i++) expect((await allocate(host, current)).outcome).toBe('success');
    const dir = '/tmp/rpctl-test-restore';
    labSh(host, `rm -rf ${dir}; mkdir -m 700 ${dir}`);
    const input: ApplyScriptInput = {
      runId: 'test-restore',
      uploadDir: dir,
      files: [],
      touches: ['/etc/turnuserdb.conf'],
      steps: [
        {
          summary: 'set then fail',
          command: sh`turnadmin -k -a -b /etc/turnuserdb.conf -u pexip -r ${DOMAIN} -p ${password} && false`,
        },
      ],
      validate: [],
      handlers: [],
      factsAfter: script("echo '@facts end'"),
    };
    const outcome = parseApplyOutput(labExec(host, ['sh', '-c', applyScript(input).text]).stdout);
    expect(outcome).toMatchObject({ kind: 'failed', stage: 'step', restored: true });
    // coturn answers from several threads, each with its own connection to the database
    for (let i = 0; i < 8; i++) {
      expect((await allocate(host, current)).outcome).toBe('success');
      expect((await allocate(host, password)).outcome).toBe('unauthorized');
    }
  });
});
