/** PAM's forced password change at the first login (src/transport/password-change.ts). */
import { describe, expect, it } from 'vitest';
import {
  changeExpiredPassword,
  PasswordChangeError,
  readPasswdScreen,
} from '../../../src/transport/password-change.js';
import { type FakeChannel, fakeTerminal } from '../support/fake-pty.js';

const BANNER =
  'You are required to change your password immediately (administrator enforced).\r\nLinux lab-1\r\nWARNING: Your password has expired.\r\nYou must change your password now and login again!\r\nChanging password for pexip.\r\nCurrent password: ';

/** passwd as sshd runs it: three prompts, then "updated" and the end of the session. */
function passwd(refuse?: string) {
  const typed: string[] = [];
  const program = (input: string, ch: FakeChannel) => {
    typed.push(input);
    if (typed.length === 1) ch.print('\r\nNew password: ');
    else if (typed.length === 2)
      ch.print(refuse ? `\r\n${refuse}\r\nNew password: ` : '\r\nRetype new password: ');
    else {
      ch.print('\r\npasswd: password updated successfully\r\n');
      setTimeout(() => ch.end(0), 5);
    }
  };
  return { typed, program };
}

describe('readPasswdScreen', () => {
  it('reads the prompts, the end and refusals', () => {
    expect(readPasswdScreen(BANNER)).toEqual({ kind: 'prompt', answer: 'current' });
    expect(readPasswdScreen('\r\nNew password: ')).toEqual({ kind: 'prompt', answer: 'new' });
    expect(readPasswdScreen('\r\nRetype new password: ')).toEqual({ kind: 'prompt', answer: 'new' });
    expect(readPasswdScreen('\r\npasswd: password updated successfully\r\n')).toEqual({ kind: 'changed' });
    expect(readPasswdScreen('\r\nBAD PASSWORD: it is based on a dictionary word\r\nNew password: ')).toEqual({
      kind: 'refused',
      reason: 'BAD PASSWORD: it is based on a dictionary word',
    });
    expect(readPasswdScreen('\r\nSorry, passwords do not match.\r\n')).toMatchObject({ kind: 'refused' });
    expect(readPasswdScreen('passwd: Authentication token manipulation error\r\n')).toMatchObject({
      kind: 'refused',
    });
    expect(readPasswdScreen('Changing password for pexip.\r\n')).toBeUndefined();
  });
});

describe('changeExpiredPassword', () => {
  it('answers current, new, new and waits for the session to end', async () => {
    const { typed, program } = passwd();
    const { terminal } = await fakeTerminal(program, (ch) => ch.print(BANNER));
    const outcome = await changeExpiredPassword(terminal, {
      current: 'PEXIP',
      next: 'New-Pass-1',
      timeoutMs: 2000,
    });
    expect(outcome).toBe('changed');
    expect(typed).toEqual(['PEXIP\r', 'New-Pass-1\r', 'New-Pass-1\r']);
    expect(terminal.closed()).toBe(true);
  });

  it("fails on the first refusal with PAM's reason and never the password", async () => {
    const { typed, program } = passwd('BAD PASSWORD: The password is a palindrome');
    const { terminal } = await fakeTerminal(program, (ch) => ch.print(BANNER));
    const change = changeExpiredPassword(terminal, { current: 'PEXIP', next: 'Ab1-1bA', timeoutMs: 2000 });
    await expect(change).rejects.toThrow(PasswordChangeError);
    await expect(change).rejects.toThrow(
      'the appliance refused the new password: BAD PASSWORD: The password is a palindrome (passwd answered after 2 of 3 prompts)',
    );
    await change.catch((err: Error) => expect(err.message).not.toContain('Ab1-1bA'));
    expect(typed).toHaveLength(2);
  });

  it('says not-required when the session starts with something else', async () => {
    const { terminal } = await fakeTerminal(
      () => {},
      (ch) => ch.print('Last login: today\r\n[sudo] password for pexip: '),
    );
    const outcome = await changeExpiredPassword(terminal, {
      current: 'PEXIP',
      next: 'New-Pass-1',
      timeoutMs: 2000,
      notRequired: (text) => text.includes('[sudo] password for'),
    });
    expect(outcome).toBe('not-required');
  });
});
