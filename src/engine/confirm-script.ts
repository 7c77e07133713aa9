/**
 * The host side of commit-confirmed (see commit-confirmed.ts), as shell: a rollback armed before
 * handlers that may cut the SSH path, and the commands rpctl runs over a new connection to read the
 * state, confirm (cancel the rollback) or roll back at once.
 *
 * Everything lives in one root-only directory per run, /var/lib/rpctl/confirm/RUN:
 *
 *   apply.out    the apply script's output (the connection that started it may be gone)
 *   apply.done   the apply script has ended
 *   timer.pid    the rollback's `sleep`
 *   decision     `confirmed`, `rollback` or `restored-by-apply`: written once, under `lock`, so
 *                a confirmation and an expiring timer can never both win
 *   result       `restored START END` (epoch seconds, with nanoseconds) once the rollback has run
 *   rollback.log what the rollback printed
 *
 * The rollback runs in a session of its own (setsid), ignoring hangups, without the apply lock fd,
 * so it outlives the SSH session; it takes the apply lock before restoring, so a still-running
 * apply finishes first.
 */
import { joinCommands, type ShellCommand, script, sh } from '../transport/shell.js';
import { APPLY_LOCK_FILE } from './lock.js';

export const CONFIRM_ROOT = '/var/lib/rpctl/confirm';
export const confirmDir = (runId: string): string => `${CONFIRM_ROOT}/${runId}`;

export type Decision = 'confirmed' | 'rollback' | 'restored-by-apply';

/** `rpctl_decide WANT` prints the decision that holds (WANT if it is the first). Needs $rpctl_confirm. */
const DECIDE = script(`rpctl_decide() {
  ( flock 7; [ -s "$rpctl_confirm/decision" ] || echo "$1" > "$rpctl_confirm/decision" ) 7>>"$rpctl_confirm/lock"
  cat "$rpctl_confirm/decision"
}
rpctl_stop_timer() { kill "$(cat "$rpctl_confirm/timer.pid" 2>/dev/null)" 2>/dev/null; true; }`);

export interface ArmInput {
  dir: string;
  seconds: number;
  /** the run's backup directory */
  backupDir: string;
  /** shell functions rpctl_restore and rpctl_rerun_handlers (apply-script.ts) */
  restoreFunctions: ShellCommand;
}

/**
 * Lines of the apply script, right before the handlers: start the timed rollback. `rpctl_disarm`
 * (for the apply's own failure path, which restores by itself) is defined here too.
 */
export function armRollback(input: ArmInput): ShellCommand {
  const rollback = joinCommands([
    script("trap '' HUP PIPE"),
    sh`rpctl_confirm=${input.dir}`,
    DECIDE,
    sh`sleep ${input.seconds} & echo $! > "$rpctl_confirm/timer.pid"; wait $!`,
    // confirmed (or restored by the apply itself) before the timer ran out: nothing to do. Only
    // this process removes a confirmed run's directory: were the confirming side to remove it, a
    // timer waking meanwhile would find no decision in a half-removed directory and roll back.
    script('rpctl_decision=$(rpctl_decide rollback)'),
    script('if [ "$rpctl_decision" = confirmed ]; then rm -rf "$rpctl_confirm"; fi'),
    script('[ "$rpctl_decision" = rollback ] || exit 0'),
    script('rpctl_started=$(date +%s.%N)'),
    sh`exec 8>>${APPLY_LOCK_FILE}`,
    script('flock 8'),
    sh`rpctl_backup=${input.backupDir}`,
    input.restoreFunctions,
    script('rpctl_restore; rpctl_rerun_handlers'),
    script('echo "restored $rpctl_started $(date +%s.%N)" > "$rpctl_confirm/result"'),
  ]);
  return joinCommands([
    sh`rpctl_confirm=${input.dir}`,
    DECIDE,
    script('rpctl_disarm() { rpctl_decide restored-by-apply > /dev/null; rpctl_stop_timer; }'),
    sh`setsid sh -c ${rollback.text} rpctl-rollback < /dev/null > "$rpctl_confirm/rollback.log" 2>&1 8>&- &`,
    sh`printf '@armed %s\\n' ${input.seconds}`,
  ]);
}

/**
 * Run the apply script `body` detached (as apply-script.ts does) with its output kept in `dir`
 * (root's alone: the facts it prints may hold what a TURN server's files hold), then print it: a
 * connection that survives gets the usual output; if it does not, the output is read over the next
 * one. `forget`: remove `dir` once its output has been printed whole (the outcome directory of an
 * ordinary apply, outcome.ts); a commit-confirmed run keeps it for its rollback.
 */
export function recordedDetached(body: ShellCommand, dir: string, forget = false): ShellCommand {
  const out = `${dir}/apply.out`;
  return joinCommands([
    // umask in a subshell: the apply itself runs with the usual one
    sh`( umask 077 && mkdir -p -m 0700 ${dir} && : > ${out} )`,
    sh`setsid -w sh -c ${body.text} < /dev/null > ${out} 2>&1 & wait $!`,
    forget ? sh`cat ${out} && rm -rf ${dir}` : sh`cat ${out}`,
  ]);
}

/** Lines the apply script's EXIT trap adds: mark the apply as ended. */
export const markApplyDone = (dir: string): ShellCommand => sh`: > ${`${dir}/apply.done`}`;

/**
 * What rpctl reads over a new connection: the decision, the rollback's result, the apply's output
 * once it has ended, then `facts` (the host's facts now). `forget`: remove the directory once the
 * outcome is final (the rollback has run), after printing it.
 */
export function confirmStateScript(dir: string, facts: ShellCommand, forget: boolean): ShellCommand {
  const done = forget
    ? sh`if [ -s ${`${dir}/result`} ] || [ "$(cat ${`${dir}/decision`} 2>/dev/null)" = restored-by-apply ]; then rm -rf ${dir}; fi`
    : script('true');
  return joinCommands([
    sh`rpctl_confirm=${dir}`,
    script(`if [ ! -d "$rpctl_confirm" ]; then echo '@confirm missing'; else
  printf '@confirm decision=%s\\n' "$(cat "$rpctl_confirm/decision" 2>/dev/null)"
  printf '@confirm result=%s\\n' "$(cat "$rpctl_confirm/result" 2>/dev/null)"
  if [ -e "$rpctl_confirm/apply.done" ]; then echo '@confirm apply-output'; base64 -w0 < "$rpctl_confirm/apply.out"; echo; fi
fi`),
    done,
    facts,
  ]);
}

/**
 * Decide `want` unless a decision was already made; print `@decision D`. Confirming stops the
 * timer (the woken rollback then removes the directory); `rollback` stops the timer so the
 * rollback starts now.
 */
export function decideScript(dir: string, want: 'confirmed' | 'rollback'): ShellCommand {
  return joinCommands([
    sh`rpctl_confirm=${dir}`,
    DECIDE,
    sh`rpctl_decision=$(rpctl_decide ${want})`,
    sh`if [ "$rpctl_decision" = ${want} ]; then rpctl_stop_timer; fi`,
    script(`printf '@decision %s\\n' "$rpctl_decision"`),
  ]);
}

/** Remove the run's directory (nothing was armed, or the outcome is known). */
export const forgetScript = (dir: string): ShellCommand => sh`rm -rf ${dir}`;

export interface ConfirmState {
  /** the directory is gone (removed, or never made) */
  missing: boolean;
  decision?: Decision;
  /** the rollback has run: when it started and ended (epoch seconds on the host) */
  restored?: { started: number; ended: number };
  /** the apply script's output, once it has ended */
  applyOutput?: string;
}

export function parseConfirmState(output: string): ConfirmState {
  const lines = output.split('\n');
  if (lines.includes('@confirm missing')) return { missing: true };
  const value = (key: string) =>
    lines.find((l) => l.startsWith(`@confirm ${key}=`))?.slice(`@confirm ${key}=`.length) ?? '';
  const decision = value('decision');
  const [word, started, ended] = value('result').split(' ');
  const at = lines.indexOf('@confirm apply-output');
  return {
    missing: false,
    ...(['confirmed', 'rollback', 'restored-by-apply'].includes(decision)
      ? { decision: decision as Decision }
      : {}),
    ...(word === 'restored' ? { restored: { started: Number(started), ended: Number(ended) } } : {}),
    ...(at >= 0 ? { applyOutput: Buffer.from(lines[at + 1] ?? '', 'base64').toString('utf8') } : {}),
  };
}

export function parseDecision(output: string): Decision | undefined {
  const line = output.split('\n').find((l) => l.startsWith('@decision '));
  const decision = line?.slice('@decision '.length);
  return decision === 'confirmed' || decision === 'rollback' || decision === 'restored-by-apply'
    ? decision
    : undefined;
}
