/** The apply journal: what the apply script writes is what plan, drift and apply read back. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseApplyOutput } from '../../../src/engine/apply-script.js';
import { describeJournal, parseJournal, parseResolution, writeJournal } from '../../../src/engine/journal.js';
import { sh } from '../../../src/transport/shell.js';

const journal = {
  run: '20261206T030405Z-abcdef',
  renamed: ['/etc/nginx/sites-available/pexapp'],
  inPlace: ['/etc/turnuserdb.conf'],
  validate: [sh`nginx -t`],
  handlers: [{ id: 'nginx:reload', command: sh`service nginx reload` }],
};

describe('apply journal', () => {
  it('round-trips files, validations and handlers through the text the script writes', () => {
    // the fixed part the script prints, as a shell would print it (without the manifest and time)
    const text = writeJournal(journal).text;
    const fixed = /printf '%s\\n' ('(?:[^']|'\\'')*')/.exec(text)![1]!;
    const printed = execFileSync('sh', ['-c', `printf '%s\\n' ${fixed}`], { encoding: 'utf8' });
    const read = parseJournal(
      `rpctl-journal 1\nat 2026-12-06T03:04:05Z\n${printed}saved 00 1 644 root root /x\n`,
    );
    expect(read).toMatchObject({ run: journal.run, renamed: journal.renamed, inPlace: journal.inPlace });
    expect(read?.validate.map((c) => c.text)).toEqual(['nginx -t']);
    expect(read?.handlers.map((h) => [h.id, h.command.text])).toEqual([
      ['nginx:reload', 'service nginx reload'],
    ]);
    expect(describeJournal(read!)).toBe(
      'interrupted apply 20261206T030405Z-abcdef at 2026-12-06T03:04:05Z (files /etc/nginx/sites-available/pexapp, /etc/turnuserdb.conf)',
    );
  });

  it('ignores a journal of another format (an older rpctl, or none)', () => {
    expect(parseJournal('run=r1\nbackup=/var/backups/rpctl/r1\n')).toBeUndefined();
    expect(parseJournal(undefined)).toBeUndefined();
    expect(parseJournal('rpctl-journal 1\nrun ../../etc\n')).toBeUndefined();
  });

  it('reads what a resolution did', () => {
    const out = `@resolve invalid\n${Buffer.from('nginx: [emerg] bad').toString('base64')}\n@unrestorable differs /a\n@resolve handler-failed nginx:reload\n`;
    expect(parseResolution(out)).toEqual({
      valid: false,
      output: 'nginx: [emerg] bad',
      unrestorable: [{ path: '/a', why: 'differs' }],
      failedHandlers: ['nginx:reload'],
      resolved: false,
    });
  });

  it('reads a backup failure and refused restores from the apply output', () => {
    const output = Buffer.from('cp: error writing: No space left on device').toString('base64');
    expect(parseApplyOutput(`@failed backup 0\n${output}\n`)).toMatchObject({
      kind: 'failed',
      stage: 'backup',
      restored: false,
    });
    expect(parseApplyOutput(`@failed validate 0\n\n@unrestorable differs /p\n@restored\n`)).toMatchObject({
      restored: false,
      unrestorable: [{ path: '/p', why: 'differs' }],
    });
  });
});
