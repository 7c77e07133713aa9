import { describe, expect, it } from 'vitest';
import { fail2banRunningOf } from '../running.js';

describe('fail2banRunningOf', () => {
  it.each([
    [
      'pid 3113\nprocess fail2ban-server\nsocket present\n',
      true,
      'pid 3113, fail2ban-server, socket present',
    ],
    ['pid absent\nsocket absent\n', false, 'no PID file, no socket'],
    ['pid 3113\nprocess none\nsocket present\n', false, 'pid 3113, no such process, socket present'],
    ['pid 3113\nprocess fail2ban-server\nsocket absent\n', false, 'pid 3113, fail2ban-server, no socket'],
    ['', false, 'no PID file, no socket'],
  ])('%j', (output, running, detail) => {
    expect(fail2banRunningOf(output)).toEqual({ running, detail });
  });
});
