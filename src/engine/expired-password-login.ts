/**
 * The first login of a host whose password has expired: on the session just opened with the
 * current password, let PAM force the change to the next one on a terminal
 * (src/transport/password-change.ts), then end that session. What a login that needs no change
 * means is the caller's to say.
 *
 *   const session = await connect(withPassword(initial));   // 'auth' refused: changed already?
 *   await changeExpiredLogin(session, { current: 'PEXIP', next, timeoutMs: 20_000 }, screens);
 */
import { changeExpiredPassword } from '../transport/password-change.js';
import type { HostSession } from '../transport/types.js';
import { plainText } from './conversation.js';

/** A shell prompt or sudo asking: the login went through without a forced change. */
const LOGGED_IN = (text: string) => /\[sudo\] password for|(^|\n)> $|[$#] $/.test(plainText(text));

/**
 * 'changed', or 'not-required' when the login needed no change. Throws PasswordChangeError when
 * PAM refuses the new password. Closes `session`; `screens` receives what the terminal showed.
 */
export async function changeExpiredLogin(
  session: HostSession,
  passwords: { current: string; next: string; timeoutMs: number },
  screens: string[],
): Promise<'changed' | 'not-required'> {
  const terminal = await session.terminal();
  try {
    return await changeExpiredPassword(terminal, { ...passwords, notRequired: LOGGED_IN });
  } finally {
    screens.push(terminal.output());
    await session.close();
  }
}
