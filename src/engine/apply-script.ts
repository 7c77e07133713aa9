/**
 * The apply step of one host as ONE root shell script, one exec whose stdin carries the files:
 *
 *   1. compare-and-swap: every file is still as planned, else stop before touching anything
 *   2. back up every file it writes or a step touches (timestamped directory, plus the guide's
 *      sibling name such as pexip.pem.backup), each proven whole (backup-script.ts): a backup
 *      that cannot be written stops the apply here. Then the journal (journal.ts), kept until the
 *      apply ends, so an apply cut short is found and resolved by the next. Written files are restored
 *      by rename; files only steps touch are restored in place (same inode), because a daemon may
 *      hold them open: coturn keeps its SQLite userdb open in every thread, and after a rename
 *      some threads would go on reading the replaced file
 *   3. install each file atomically (temp file in the same directory, owner and mode, rename)
 *   4. run the steps, then the validations: any failure restores the backups, skips handlers
 *   5. run each notified handler once; a failing handler restores and runs them again
 *   6. print the facts again, for verification
 *
 * It runs in a session of its own (setsid), ignoring hangups: when the connection drops, sudo
 * terminates its command's process group, and this is not in it, so an apply that started always
 * finishes (or restores). Its output is kept in a root-only directory of the run until rpctl has
 * read it (outcome.ts: read over a new connection when this one drops). It holds the apply lock
 * file so the run's lock holder waits for it.
 * Output records: `@stale I`, `@failed KIND I` + the base64 output of what failed,
 * `@unrestorable WHY PATH`, `@restored`, `@applied`, then the facts. A successful apply prunes the
 * backups and the outcome directories to the newest `backupsKept` runs.
 */
import { joinCommands, type ShellCommand, script, sh } from '../transport/shell.js';
import { filesOnStdin } from '../transport/stdin-files.js';
import type { UploadFile } from '../transport/types.js';
import {
  BACKUP_FUNCTIONS,
  BACKUP_ROOT,
  DEFAULT_BACKUPS_KEPT,
  MANIFEST,
  pruneRuns,
  type RestoreSet,
  restoreFunction,
  type Unrestored,
  unrestorable,
} from './backup-script.js';
import { armRollback, markApplyDone, recordedDetached } from './confirm-script.js';
import { JOURNAL, writeJournal } from './journal.js';
import { APPLY_LOCK_FILE } from './lock.js';
import { OUTCOME_ROOT, outcomeDir } from './outcome.js';

export { BACKUP_ROOT } from './backup-script.js';
export { JOURNAL } from './journal.js';

export interface InstallFile {
  path: string;
  /** name of the uploaded content inside the upload directory */
  uploadName: string;
  mode: number;
  owner: string;
  group: string;
  /** sha256 the file had when planned; null when it did not exist */
  expectedSha256: string | null;
  siblingBackup?: string;
  /** the content is secret (a private key): its sibling backup is made root's alone (go-rwx) */
  secret?: boolean;
}

export interface ApplyScriptInput {
  runId: string;
  uploadDir: string;
  files: readonly InstallFile[];
  /** files steps modify: backed up and restored like written ones */
  touches: readonly string[];
  steps: readonly { summary: string; command: ShellCommand }[];
  validate: readonly ShellCommand[];
  handlers: readonly { id: string; command: ShellCommand }[];
  factsAfter: ShellCommand;
  /** run directories of /var/backups/rpctl kept on the host (default 10) */
  backupsKept?: number;
  /**
   * commit-confirmed (a handler may cut the SSH path): arm a rollback that fires after `seconds`
   * right before the handlers, and keep the output in `dir` (see confirm-script.ts)
   */
  confirm?: { dir: string; seconds: number };
}

const FUNCTIONS = script(`rpctl_out=$(mktemp)
rpctl_same() {
  if [ "$2" = absent ]; then [ ! -e "$1" ]; else [ -f "$1" ] && [ "$(sha256sum < "$1" | cut -c1-64)" = "$2" ]; fi
}
rpctl_install() {
  rpctl_tmp="$(dirname "$2")/.$(basename "$2").rpctl-new"
  cp "$1" "$rpctl_tmp" && chown "$4:$5" "$rpctl_tmp" && chmod "$3" "$rpctl_tmp" && mv -f "$rpctl_tmp" "$2" || { rm -f "$rpctl_tmp"; return 1; }
}
rpctl_report() {
  printf '@failed %s %s\\n' "$1" "$2"
  base64 -w0 < "$rpctl_out"
  echo
}`);

function restoreSet(input: Pick<ApplyScriptInput, 'files' | 'touches' | 'handlers'>): RestoreSet {
  const written = new Set(input.files.map((f) => f.path));
  const saved = savedPaths(input);
  return {
    renamed: saved.filter((p) => written.has(p)),
    inPlace: saved.filter((p) => !written.has(p)),
    handlers: input.handlers,
  };
}

/**
 * Run `command`; on failure report it, restore, optionally re-run handlers, and stop. It runs
 * without fd 8, the apply lock: a daemon a handler (re)starts would inherit it and hold the lock
 * for its whole life, and the run's lock holder would wait for it forever.
 */
function guarded(kind: string, index: number, command: ShellCommand, recover: ShellCommand): ShellCommand {
  return sh`if ! ( ${command} ) 8>&- > "$rpctl_out" 2>&1 < /dev/null; then rpctl_report ${kind} ${index}; ${recover}; rm -f ${JOURNAL}; echo '@restored'; exit 20; fi`;
}

const siblingOf = (file: InstallFile): string | undefined =>
  file.siblingBackup && `${file.path.replace(/\/[^/]+$/, '')}/${file.siblingBackup}`;

/**
 * Every path the apply may change, backed up first and restored on failure: the files, the sibling
 * backups their install overwrites (a failed apply must leave the previous `pexip.pem.backup`), and
 * what steps touch.
 */
export function savedPaths(input: Pick<ApplyScriptInput, 'files' | 'touches'>): string[] {
  const siblings = input.files.flatMap((f) => siblingOf(f) ?? []);
  return [...new Set([...input.files.map((f) => f.path), ...siblings, ...input.touches])];
}

/**
 * Back up every saved path, proven whole (backup-script.ts), then write the journal. Any failure
 * (a full or read-only backup directory) stops the apply before anything is installed: the partial
 * backup directory is removed and `@failed backup I` (I indexes `savedPaths`, or is the count of
 * them for the journal) reports it.
 */
function backUpAndJournal(input: ApplyScriptInput, backup: string): ShellCommand[] {
  const saved = savedPaths(input);
  const set = restoreSet(input);
  const stop = (i: number) => sh`then rpctl_report backup ${i}; rm -rf ${backup}; exit 21; fi`;
  const dirs = sh`mkdir -p -m 0700 ${BACKUP_ROOT} ${backup} ${JOURNAL.replace(/\/[^/]+$/, '')} && chmod 0700 ${BACKUP_ROOT} ${backup} && : >> ${`${backup}/${MANIFEST}`}`;
  const journal = writeJournal({ run: input.runId, ...set, validate: input.validate });
  return [
    sh`if ! ( ${dirs} ) > "$rpctl_out" 2>&1; ${stop(0)}`,
    ...saved.map((path, i) => sh`if ! rpctl_save ${path} > "$rpctl_out" 2>&1; ${stop(i)}`),
    sh`if ! ( ${journal} ) > "$rpctl_out" 2>&1; ${stop(saved.length)}`,
  ];
}

export function applyScript(input: ApplyScriptInput): ShellCommand {
  const backup = `${BACKUP_ROOT}/${input.runId}`;
  const { confirm } = input;
  // where the output is kept until rpctl has read it: the commit-confirmed directory, or outcome.ts's
  const recordDir = confirm?.dir ?? outcomeDir(input.runId);
  const onExit = `rm -rf "$RPCTL_UPLOAD" "$rpctl_out" "$rpctl_facts"; ${markApplyDone(recordDir).text}`;
  const lines: ShellCommand[] = [
    script('set -u'),
    script("trap '' HUP PIPE"),
    sh`exec 8>>${APPLY_LOCK_FILE}`,
    script('flock 8'),
    sh`RPCTL_UPLOAD=${input.uploadDir}; export RPCTL_UPLOAD`,
    sh`rpctl_backup=${backup}`,
    script('rpctl_facts='),
    sh`trap ${onExit} EXIT`,
    BACKUP_FUNCTIONS,
    FUNCTIONS,
    restoreFunction(restoreSet(input)),
  ];
  const restoreOnly = script('rpctl_restore');
  input.files.forEach((file, i) => {
    lines.push(
      sh`rpctl_same ${file.path} ${file.expectedSha256 ?? 'absent'} || { printf '@stale %s\\n' ${i}; exit 10; }`,
    );
  });
  lines.push(...backUpAndJournal(input, backup));
  input.files.forEach((file, i) => {
    const sibling = siblingOf(file);
    // the guide's sibling backup of a private key is root's alone
    const siblingMode = file.secret
      ? sh` && chown root:root ${sibling ?? ''} && chmod go-rwx ${sibling ?? ''}`
      : script('');
    if (sibling)
      lines.push(
        guarded(
          'install',
          i,
          sh`if [ -e ${file.path} ]; then cp -a ${file.path} ${sibling}${siblingMode}; fi`,
          restoreOnly,
        ),
      );
    const install = sh`rpctl_install "$RPCTL_UPLOAD"/${file.uploadName} ${file.path} ${file.mode.toString(8)} ${file.owner} ${file.group}`;
    lines.push(guarded('install', i, install, restoreOnly));
  });
  input.steps.forEach((step, i) => {
    lines.push(guarded('step', i, step.command, restoreOnly));
  });
  input.validate.forEach((command, i) => {
    lines.push(guarded('validate', i, command, restoreOnly));
  });
  // A failing handler restores and runs the handlers again; with a rollback armed, that rollback
  // is no longer needed.
  let restoreAndRerun = script('rpctl_restore; rpctl_rerun_handlers');
  if (confirm) {
    lines.push(armRollback({ ...confirm, backupDir: backup, restoreFunctions: restoreFunctions(input) }));
    restoreAndRerun = script('rpctl_restore; rpctl_rerun_handlers; rpctl_disarm');
  }
  input.handlers.forEach((handler, i) => {
    lines.push(guarded('handler', i, handler.command, restoreAndRerun));
  });
  const kept = input.backupsKept ?? DEFAULT_BACKUPS_KEPT;
  lines.push(sh`rm -f ${JOURNAL}`, pruneRuns(BACKUP_ROOT, kept), pruneRuns(OUTCOME_ROOT, kept));
  lines.push(script("echo '@applied'"), input.factsAfter);
  return recordedDetached(joinCommands(lines), recordDir, !confirm);
}

/**
 * The apply exec with its files: they travel on its stdin and are received into the upload
 * directory before the script starts (no SFTP session, no extra round trip).
 */
export function applyExec(
  input: ApplyScriptInput,
  uploads: readonly UploadFile[],
): { command: ShellCommand; stdin: Buffer } {
  const { receive, stdin } = filesOnStdin(input.uploadDir, uploads);
  return { command: joinCommands([receive, applyScript(input)]), stdin };
}

/** The functions that put a run's backups back and run its handlers again (for an armed rollback). */
function restoreFunctions(input: Pick<ApplyScriptInput, 'files' | 'touches' | 'handlers'>): ShellCommand {
  return joinCommands([BACKUP_FUNCTIONS, restoreFunction(restoreSet(input))]);
}

/**
 * Run `body` in a new session, out of reach of sudo's cleanup of a dropped connection; its output
 * still comes back through the pipe while the connection lives.
 */
function detached(body: ShellCommand): ShellCommand {
  // `.text`: the body is ONE argument of sh -c, quoted (a ShellCommand would be spliced in as is)
  return sh`setsid sh -c ${body.text} < /dev/null 2>&1 | cat`;
}

/** Put the backups of run `runId` back and run the handlers again (verification failed). */
export function rollbackScript(
  input: Pick<ApplyScriptInput, 'runId' | 'files' | 'touches' | 'handlers' | 'factsAfter'>,
): ShellCommand {
  const body = joinCommands([
    script('set -u'),
    script("trap '' HUP PIPE"),
    sh`exec 8>>${APPLY_LOCK_FILE}`,
    script('flock 8'),
    sh`rpctl_backup=${`${BACKUP_ROOT}/${input.runId}`}`,
    BACKUP_FUNCTIONS,
    restoreFunction(restoreSet(input)),
    script('rpctl_restore'),
    script('rpctl_rerun_handlers'),
    script("echo '@restored'"),
    input.factsAfter,
  ]);
  return detached(body);
}

export type ApplyStage = 'backup' | 'install' | 'step' | 'validate' | 'handler';

export type ApplyOutcome =
  | { kind: 'applied' }
  | { kind: 'stale'; index: number }
  | {
      kind: 'failed';
      stage: ApplyStage;
      index: number;
      output: string;
      restored: boolean;
      /** backups a restore did not put back (backup-script.ts) */
      unrestorable: Unrestored[];
    }
  | { kind: 'incomplete' };

export function parseApplyOutput(output: string): ApplyOutcome {
  const lines = output.split('\n');
  const failed = lines.findIndex((l) => l.startsWith('@failed '));
  if (failed >= 0) {
    const [, stage, index] = lines[failed]!.split(' ');
    const refused = unrestorable(output);
    return {
      kind: 'failed',
      stage: stage as ApplyStage,
      index: Number(index),
      output: Buffer.from(lines[failed + 1] ?? '', 'base64').toString('utf8'),
      restored: lines.includes('@restored') && refused.length === 0,
      unrestorable: refused,
    };
  }
  const stale = lines.find((l) => l.startsWith('@stale '));
  if (stale) return { kind: 'stale', index: Number(stale.split(' ')[1]) };
  if (lines.includes('@applied')) return { kind: 'applied' };
  return { kind: 'incomplete' };
}
