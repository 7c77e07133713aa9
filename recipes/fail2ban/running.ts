/**
 * Whether fail2ban runs, read without starting Python: Debian's `service fail2ban status` runs
 * `fail2ban-client ping` (about 85 ms of CPU per appliance); this reads the server's PID file, the
 * command line of that process, and its control socket (about 1 ms). Pure: the fact and its parser.
 *
 *   pid 3113 / pid absent          /var/run/fail2ban/fail2ban.pid (fail2ban.conf's pidfile)
 *   process fail2ban-server / none /proc/PID/cmdline names fail2ban-server
 *   socket present / absent        /var/run/fail2ban/fail2ban.sock (fail2ban.conf's socket)
 *   init present / absent          /etc/init.d/fail2ban: absent means fail2ban is not installed
 *
 * Running means all three: a PID file left by a killed server, or a PID reused by another process,
 * is stopped. (A server that is alive but hung counts as running; its jail status shows it.)
 */
import { sh } from '../../src/engine/contract.js';

export const FAIL2BAN_RUNNING = 'fail2ban.running';

const PID_FILE = '/var/run/fail2ban/fail2ban.pid';
const SOCKET = '/var/run/fail2ban/fail2ban.sock';
const INIT_SCRIPT = '/etc/init.d/fail2ban';

export const fail2banRunningFact = {
  id: FAIL2BAN_RUNNING,
  command: sh`p=$(cat ${PID_FILE} 2>/dev/null); case "$p" in '' | *[!0-9]*) echo 'pid absent' ;; *) echo "pid $p"; if tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q 'fail2ban-server'; then echo 'process fail2ban-server'; else echo 'process none'; fi ;; esac; if [ -S ${SOCKET} ]; then echo 'socket present'; else echo 'socket absent'; fi; if [ -e ${INIT_SCRIPT} ]; then echo 'init present'; else echo 'init absent'; fi`,
};

export interface Fail2banRunning {
  /** its init script is there (every appliance ships one; its absence means no fail2ban) */
  installed: boolean;
  running: boolean;
  /** why, for a report: `pid 3113, fail2ban-server, socket present` */
  detail: string;
}

export function fail2banRunningOf(output: string): Fail2banRunning {
  const pid = /^pid (\d+)$/m.exec(output)?.[1];
  const server = /^process fail2ban-server$/m.test(output);
  const socket = /^socket present$/m.test(output);
  const detail = [
    pid ? `pid ${pid}` : 'no PID file',
    pid ? (server ? 'fail2ban-server' : 'no such process') : undefined,
    socket ? 'socket present' : 'no socket',
  ]
    .filter(Boolean)
    .join(', ');
  const installed = /^init present$/m.test(output);
  return { installed, running: pid !== undefined && server && socket, detail };
}
