import { describe, expect, it } from 'vitest';
import { fail2banRunningOf } from '../running.js';

describe('fail2banRunningOf', () => {
  it.each([
    [
      'pid 3113\nprocess fail2ban-server\nsocket present\ninit present\n',
      true,
      'pid 3113, fail2ban-server, socket present',
    ],
    ['pid absent\nsocket absent\ninit present\n', false, 'no PID file, no socket'],
    [
      'pid 3113\nprocess none\nsocket present\ninit present\n',
      false,
      'pid 3113, no such process, socket present',
    ],
    [
      'pid 3113\nprocess fail2ban-server\nsocket absent\ninit present\n',
      false,
      'pid 3113, fail2ban-server, no socket',
    ],
  ])('%j', (output, running, detail) => {
    expect(fail2banRunningOf(output)).toEqual({ installed: true, running, detail });
  });

  it('is not installed without its init script (or without an answer)', () => {
    expect(fail2banRunningOf('pid absent\nsocket absent\ninit absent\n').installed).toBe(false);
    expect(fail2banRunningOf('')).toEqual({
      installed: false,
      running: false,
      detail: 'no PID file, no socket',
    });
  });
});
