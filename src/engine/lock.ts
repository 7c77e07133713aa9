/**
 * The per-appliance apply lock, held on the appliance for the whole apply of one host.
 *
 * The apply's facts exec takes it (`flock` on /run/lock/rpctl.lock, waiting a bounded time), prints
 * the facts, then keeps holding it until rpctl closes the channel's stdin: at the end of the run,
 * or when the connection drops. Before letting go it waits for an apply script still running
 * (those ignore hangups and finish), and removes the run's upload directory.
 *
 * A second apply that cannot get the lock in time fails with who holds it and since when.
 * Drift checks never take it.
 */
import { HostError } from '../errors.js';
import { joinCommands, type ShellCommand, script, sh } from '../transport/shell.js';

export interface LockHolder {
  user: string;
  host: string;
  pid: number;
  since: string;
  command: string;
}

export const LOCK_FILE = '/run/lock/rpctl.lock';
export const APPLY_LOCK_FILE = '/run/lock/rpctl.apply.lock';
/** exit code of the facts exec when the lock could not be taken in time */
export const LOCKED_EXIT = 75;

export function lockPrelude(holder: LockHolder, waitSeconds: number): ShellCommand {
  const info = Buffer.from(JSON.stringify(holder)).toString('base64');
  return joinCommands([
    script('mkdir -p /run/lock'),
    sh`exec 9>>${LOCK_FILE}`,
    sh`if ! flock -w ${waitSeconds} 9; then printf '@locked '; base64 -w0 < ${`${LOCK_FILE}.info`} 2>/dev/null; echo; exit ${LOCKED_EXIT}; fi`,
    sh`printf %s ${info} | base64 -d > ${`${LOCK_FILE}.info`}`,
    script("echo '@lock acquired'"),
  ]);
}

/** After the facts: hold the lock until stdin closes, then wait for any apply and clean up. */
export function lockHoldTail(uploadDir: string): ShellCommand {
  return joinCommands([
    script('cat > /dev/null'),
    sh`exec 8>>${APPLY_LOCK_FILE}`,
    script('flock 8'),
    sh`rm -rf ${uploadDir}`,
    sh`rm -f ${`${LOCK_FILE}.info`}`,
  ]);
}

/** The HostError for a lock held by someone else, from the facts exec's output. */
export function lockedError(host: string, output: string, waitedSeconds: number): HostError {
  const line = output.split('\n').find((l) => l.startsWith('@locked'));
  let holder: Partial<LockHolder> = {};
  try {
    holder = JSON.parse(
      Buffer.from(line?.slice('@locked '.length) ?? '', 'base64').toString('utf8'),
    ) as LockHolder;
  } catch {
    // no or unreadable holder info: say so below
  }
  const who = holder.user
    ? `${holder.user}@${holder.host} (pid ${holder.pid}, ${holder.command}) since ${holder.since}`
    : 'another rpctl run (holder unknown)';
  return new HostError('locked', `${host}: locked by ${who}; waited ${waitedSeconds} s`);
}
