/**
 * PAM's forced change of an expired password, the first login of a freshly deployed appliance.
 * After a password login sshd (UsePAM) runs the change in the session before the login shell:
 *
 *   You are required to change your password immediately (administrator enforced).
 *   WARNING: Your password has expired.
 *   You must change your password now and login again!
 *   Changing password for pexip.
 *   Current password:            <- the expired password
 *   New password:                <- the new one
 *   Retype new password:         <- the new one again
 *   passwd: password updated successfully
 *
 * and then closes the connection: the caller logs in again with the new password. Passwords are
 * typed with echo off, and no message here quotes what was typed.
 *
 *   const outcome = await changeExpiredPassword(terminal, { current, next, timeoutMs: 20_000 });
 */
import { type Terminal, TerminalWaitError } from './terminal.js';

export type PasswdScreen =
  | { kind: 'prompt'; answer: 'current' | 'new' }
  | { kind: 'changed' }
  | { kind: 'refused'; reason: string };

// What passwd and pam_unix/pam_pwquality print when they refuse a password.
const REFUSED = [
  /^BAD PASSWORD: .*$/m,
  /^You must choose a longer password\.?$/m,
  /^Password unchanged\.?$/m,
  /^Sorry, passwords do not match\.?$/m,
  /^The password has not been changed\.?$/m,
  /^passwd: (?!password updated).*$/m,
  /^Authentication token manipulation error$/m,
];

/**
 * Read passwd's output since the last answer: a prompt to answer, the end, a refusal, or
 * undefined while it is still printing. Pure.
 */
export function readPasswdScreen(text: string): PasswdScreen | undefined {
  const screen = text.replaceAll('\r', '');
  if (/password updated successfully/i.test(screen)) return { kind: 'changed' };
  for (const pattern of REFUSED) {
    const match = pattern.exec(screen);
    if (match) return { kind: 'refused', reason: match[0].trim() };
  }
  if (/(Current|\(current\) UNIX) password: ?$/i.test(screen)) return { kind: 'prompt', answer: 'current' };
  if (/(New|Retype new|Re-enter new) password: ?$/i.test(screen)) return { kind: 'prompt', answer: 'new' };
  return undefined;
}

/** The server did something else than expected; `reason` never holds a password. */
export class PasswordChangeError extends Error {
  constructor(
    readonly reason: 'refused' | 'timeout' | 'closed',
    message: string,
  ) {
    super(message);
    this.name = 'PasswordChangeError';
  }
}

export interface PasswordChangeOptions {
  /** the expired password */
  current: string;
  next: string;
  /** for each step (prompt, end of the session) */
  timeoutMs: number;
  /**
   * the output shows that no change is asked for (e.g. the shell or a program started): resolve
   * 'not-required' and leave the terminal to the caller
   */
  notRequired?(text: string): boolean;
}

/**
 * Answer the change on a terminal whose session starts with it. Resolves 'changed' once passwd
 * says so and the server has closed the session, or 'not-required'.
 */
export async function changeExpiredPassword(
  terminal: Terminal,
  options: PasswordChangeOptions,
): Promise<'changed' | 'not-required'> {
  let from = 0;
  let answered = 0;
  for (;;) {
    const screen = await terminal
      .waitFor(
        (text) => {
          const read = readPasswdScreen(text);
          if (read) return read;
          return from === 0 && options.notRequired?.(text) ? ('not-required' as const) : undefined;
        },
        { what: 'the password change prompts', timeoutMs: options.timeoutMs, from, quietMs: 20 },
      )
      .catch((err: unknown) => {
        if (err instanceof TerminalWaitError)
          throw new PasswordChangeError(err.reason, `password change: ${err.message}`);
        throw err;
      });
    if (screen === 'not-required') return 'not-required';
    if (screen.kind === 'refused') {
      terminal.close();
      throw new PasswordChangeError(
        'refused',
        `the appliance refused the new password: ${screen.reason} (passwd answered after ${answered} of 3 prompts)`,
      );
    }
    if (screen.kind === 'changed') break;
    if (answered >= 3) {
      terminal.close();
      throw new PasswordChangeError('refused', 'passwd kept asking after the new password was given twice');
    }
    from = terminal.output().length;
    terminal.write(`${screen.answer === 'current' ? options.current : options.next}\r`);
    answered++;
  }
  // "You must change your password now and login again!": the server ends the session itself.
  const ended = await Promise.race([
    terminal.exited.then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), options.timeoutMs).unref()),
  ]);
  if (!ended) terminal.close();
  return 'changed';
}
