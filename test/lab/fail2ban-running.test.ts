/**
 * fail2ban's running state read from its PID file, /proc and socket (recipes/fail2ban-running.ts)
 * against Debian's own `service fail2ban status` (`fail2ban-client ping`), on a real appliance:
 * stopped as shipped, started, and killed so that its PID file and socket stay behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fail2banRunningFact, fail2banRunningOf } from '../../recipes/fail2ban/running.js';
import { labExec, labSh, readState, reset } from './lab.js';

const host = readState()!.appliances[0]!.name;

/** [the fact's answer, whether Debian's init script says running] */
function bothSay(): [boolean, boolean, string] {
  const fact = fail2banRunningOf(labSh(host, fail2banRunningFact.command.text));
  const service = labExec(host, ['service', 'fail2ban', 'status']).status === 0;
  return [fact.running, service, fact.detail];
}

describe('fail2ban running, without Python', () => {
  afterAll(() => reset([host]));

  it('is stopped as shipped, as the init script says', () => {
    expect(bothSay()).toEqual([false, false, 'no PID file, no socket']);
  });

  it('is running once started, as the init script says', () => {
    labSh(host, 'service fail2ban start >/dev/null 2>&1');
    const [fact, service, detail] = bothSay();
    expect([fact, service]).toEqual([true, true]);
    expect(detail).toMatch(/^pid \d+, fail2ban-server, socket present$/);
  });

  it('is stopped when the server was killed and left its PID file and socket', () => {
    labSh(host, 'kill -9 "$(cat /var/run/fail2ban/fail2ban.pid)"; sleep 0.5');
    const [fact, service, detail] = bothSay();
    expect([fact, service]).toEqual([false, false]);
    expect(detail).toMatch(/^pid \d+, no such process, socket present$/);
  });
});
