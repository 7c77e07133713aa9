/**
 * fail2ban's part of what `rpctl facts` prints: installed, running (and why: PID file, process,
 * socket) and started at boot, read without starting Python.
 */
import type { HostFacts } from '../../src/engine/contract.js';
import { bootStateOf, STATE } from './facts.js';
import { FAIL2BAN_RUNNING, fail2banRunningOf } from './running.js';

export function describeFail2ban(facts: HostFacts): Record<string, unknown> {
  const running = facts.command(FAIL2BAN_RUNNING);
  const state = facts.command(STATE);
  if (running === undefined || state === undefined) return {};
  const read = fail2banRunningOf(running.output);
  if (!read.installed) return { fail2ban: { installed: false } };
  return {
    fail2ban: {
      installed: true,
      running: read.running,
      detail: read.detail,
      boot: bootStateOf(state.output),
    },
  };
}
