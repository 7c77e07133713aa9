/**
 * The apply journal, /var/lib/rpctl/journal: written once the backups are proven, before anything
 * is installed, and removed when the apply ends (applied, or restored after a failure). An apply
 * cut short (a reboot, a killed session) leaves it behind, holding what resolving it needs:
 *
 *   rpctl-journal 1
 *   at 2026-12-06T03:04:05Z                       when the apply started installing (host clock)
 *   run RUN                                       the run, and its backups in /var/backups/rpctl/RUN
 *   write PATH                                    a file it installs (restored by rename)
 *   touch PATH                                    a file a step changes, or a sibling backup (in place)
 *   saved SHA256 SIZE MODE OWNER GROUP PATH       each backup as proven (`absent - - - - PATH`)
 *   validate BASE64                               each validation command
 *   handler ID BASE64                             each handler, in order
 *
 * plan and drift report it; apply resolves it before planning: validate what is installed, restore
 * the recorded backups when that fails (only backups still matching their size and sha256), then
 * run the handlers so the services are up again.
 */
import { joinCommands, type ShellCommand, script, sh } from '../transport/shell.js';
import {
  BACKUP_FUNCTIONS,
  BACKUP_ROOT,
  MANIFEST,
  type RestoreSet,
  restoreFunction,
  type Unrestored,
  unrestorable,
} from './backup-script.js';
import { APPLY_LOCK_FILE } from './lock.js';

export const JOURNAL = '/var/lib/rpctl/journal';

export interface Journal extends RestoreSet {
  run: string;
  at: string;
  validate: readonly ShellCommand[];
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

/**
 * Lines of the apply script that write the journal (atomically, synced with the backups), after
 * the manifest is complete. Fails (non-zero) when it cannot be written whole.
 */
export function writeJournal(journal: Omit<Journal, 'at'>): ShellCommand {
  const fixed = [
    `run ${journal.run}`,
    ...journal.renamed.map((p) => `write ${p}`),
    ...journal.inPlace.map((p) => `touch ${p}`),
    ...journal.validate.map((c) => `validate ${b64(c.text)}`),
    ...journal.handlers.map((h) => `handler ${h.id} ${b64(h.command.text)}`),
  ].join('\n');
  const tmp = `${JOURNAL}.rpctl-new`;
  const manifest = `${BACKUP_ROOT}/${journal.run}/${MANIFEST}`;
  return sh`{ printf 'rpctl-journal 1\\nat %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" && printf '%s\\n' ${fixed} && sed 's/^/saved /' ${manifest}; } > ${tmp} && sync ${tmp} ${manifest} && mv -f ${tmp} ${JOURNAL} || { rm -f ${tmp}; false; }`;
}

/** The journal a facts read found, or undefined when there is none (or it is not one of ours). */
export function parseJournal(text: string | undefined): Journal | undefined {
  if (!text?.startsWith('rpctl-journal 1\n')) return undefined;
  const journal = {
    run: '',
    at: '',
    renamed: [] as string[],
    inPlace: [] as string[],
    validate: [] as ShellCommand[],
    handlers: [] as { id: string; command: ShellCommand }[],
  };
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.split(' ');
    const value = rest.join(' ');
    if (key === 'run') journal.run = value;
    else if (key === 'at') journal.at = value;
    else if (key === 'write') journal.renamed.push(value);
    else if (key === 'touch') journal.inPlace.push(value);
    // commands rpctl itself wrote into a root-only file, read back as they were
    else if (key === 'validate') journal.validate.push(script(unb64(value)));
    else if (key === 'handler')
      journal.handlers.push({ id: rest[0] ?? '', command: script(unb64(rest[1] ?? '')) });
  }
  return /^[\w.-]+$/.test(journal.run) ? journal : undefined;
}

/** How plan, drift and apply name it: `interrupted apply RUN at TIME (files …)`. */
export function describeJournal(journal: Journal): string {
  const files = [...journal.renamed, ...journal.inPlace];
  return `interrupted apply ${journal.run} at ${journal.at} (files ${files.join(', ') || 'none'})`;
}

/**
 * Resolve an interrupted apply under the apply lock: validate, restore when validation fails, run
 * the handlers, remove the journal, then print the facts. Output: `@resolve valid` or
 * `@resolve invalid` + base64 output, `@unrestorable WHY PATH`, `@resolve handler-failed ID`,
 * `@resolved` (the journal removed), then the facts.
 */
export function resolveScript(journal: Journal, facts: ShellCommand): ShellCommand {
  const validate = journal.validate.map((c) => sh`( ${c} ) 8>&- >> "$rpctl_out" 2>&1 < /dev/null`);
  const handlers = journal.handlers.map(
    (h) =>
      sh`( ${h.command} ) 8>&- > /dev/null 2>&1 < /dev/null || printf '@resolve handler-failed %s\\n' ${h.id}`,
  );
  return joinCommands([
    script('set -u'),
    script("trap '' HUP PIPE"),
    sh`exec 8>>${APPLY_LOCK_FILE}`,
    script('flock 8'),
    sh`rpctl_backup=${`${BACKUP_ROOT}/${journal.run}`}`,
    script('rpctl_out=$(mktemp)'),
    BACKUP_FUNCTIONS,
    restoreFunction(journal),
    sh`if ${joinCommands(validate.length ? validate : [script('true')], ' && ')}; then echo '@resolve valid'; else echo '@resolve invalid'; base64 -w0 < "$rpctl_out"; echo; rpctl_restore; fi`,
    ...handlers,
    script('rm -f "$rpctl_out"'),
    sh`[ "$rpctl_unrestored" = 0 ] && rm -f ${JOURNAL} && echo '@resolved'`,
    facts,
  ]);
}

export interface Resolution {
  valid: boolean;
  /** the validation's output when it failed */
  output: string;
  unrestorable: Unrestored[];
  failedHandlers: string[];
  /** the journal is gone */
  resolved: boolean;
}

export function parseResolution(output: string): Resolution {
  const lines = output.split('\n');
  const invalid = lines.indexOf('@resolve invalid');
  return {
    valid: lines.includes('@resolve valid'),
    output: invalid >= 0 ? unb64(lines[invalid + 1] ?? '') : '',
    unrestorable: unrestorable(output),
    failedHandlers: lines
      .filter((l) => l.startsWith('@resolve handler-failed '))
      .map((l) => l.slice('@resolve handler-failed '.length)),
    resolved: lines.includes('@resolved'),
  };
}
