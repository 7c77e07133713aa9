/** The apply script's text: what it promises about locks and restores, checked without a host. */
import { describe, expect, it } from 'vitest';
import { type ApplyScriptInput, applyScript, rollbackScript } from '../../../src/engine/apply-script.js';
import { script, sh } from '../../../src/transport/shell.js';

const input: ApplyScriptInput = {
  runId: 'r1',
  uploadDir: '/tmp/rpctl-r1',
  files: [
    {
      path: '/etc/turnserver.conf',
      uploadName: 'file-0',
      mode: 0o644,
      owner: 'root',
      group: 'root',
      expectedSha256: null,
    },
  ],
  touches: ['/etc/turnuserdb.conf'],
  steps: [{ summary: 'set user', command: sh`turnadmin -a -b /etc/turnuserdb.conf` }],
  validate: [sh`true`],
  handlers: [{ id: 'turn:restart', command: sh`service coturn restart` }],
  factsAfter: script("echo '@facts end'"),
};

describe('apply script', () => {
  it('runs steps, validations and handlers without the lock fd, so a restarted daemon cannot keep the lock', () => {
    const text = applyScript(input).text;
    expect(text).toContain('exec 8>>/run/lock/rpctl.apply.lock');
    for (const command of ['turnadmin -a -b /etc/turnuserdb.conf', 'true', 'service coturn restart']) {
      expect(text).toContain(`if ! ( ${command} ) 8>&- > "$rpctl_out" 2>&1 < /dev/null; then`);
    }
    // handlers run again after a restore: without the lock fd too
    expect(text).toContain('( service coturn restart ) 8>&- > /dev/null 2>&1 < /dev/null');
    expect(rollbackScript(input).text).toContain('( service coturn restart ) 8>&- > /dev/null');
  });

  it('restores written files by rename and files only steps touch in place (a daemon may hold them open)', () => {
    for (const text of [applyScript(input).text, rollbackScript(input).text]) {
      expect(text).toContain('rpctl_put_back /etc/turnserver.conf');
      expect(text).toContain('rpctl_put_back_in_place /etc/turnuserdb.conf');
      expect(text).toMatch(/rpctl_put_back_in_place\(\) \{[\s\S]*?cat "\$rpctl_backup\$1" > "\$1"/);
    }
  });
});
