/**
 * Backups of the files an apply changes, as shell functions shared by the apply script, the
 * rollback after a failed verification, commit-confirmed's armed rollback and the resolution of an
 * interrupted apply (journal.ts). They need `$rpctl_backup` (the run's backup directory); they
 * make no temp file (the armed rollback has no EXIT trap to remove one).
 *
 * A backup is proven before anything is installed: copied whole, read back with the live file's
 * size and sha256, stored root's alone (go-rwx: 0600, or 0400 like a pexip.pem; it may hold a
 * private key), and recorded in the run's manifest with the mode and owner to restore:
 *
 *   $rpctl_backup/.rpctl-manifest   SHA256 SIZE MODE OWNER GROUP PATH   (or `absent - - - - PATH`)
 *
 * A restore copies back only a backup whose size and sha256 are still the recorded ones; any other
 * is refused (`@unrestorable differs PATH`) and the live file is left alone. A live file already
 * equal to its backup is not touched (an install that failed on a full disk left it as it was).
 */
import { joinCommands, type ShellCommand, script, sh } from '../transport/shell.js';

export const BACKUP_ROOT = '/var/backups/rpctl';
export const MANIFEST = '.rpctl-manifest';

/** Runs (backup directories) kept per appliance when the inventory does not say. */
export const DEFAULT_BACKUPS_KEPT = 10;

export const BACKUP_FUNCTIONS = script(`rpctl_sum() { sha256sum < "$1" | cut -c1-64; }
rpctl_save() {
  rpctl_b="$rpctl_backup$1"
  mkdir -p "$(dirname "$rpctl_b")" || return 1
  if [ ! -e "$1" ]; then
    : > "$rpctl_b.rpctl-absent" && printf 'absent - - - - %s\\n' "$1" >> "$rpctl_backup/${MANIFEST}"
    return
  fi
  rpctl_want="$(rpctl_sum "$1") $(stat -c %s "$1")"
  cp -a "$1" "$rpctl_b" && chown root:root "$rpctl_b" && chmod go-rwx "$rpctl_b" || return 1
  if [ "$(rpctl_sum "$rpctl_b") $(stat -c %s "$rpctl_b")" != "$rpctl_want" ]; then
    echo "the backup $rpctl_b differs from $1 (size or sha256)"; return 1
  fi
  printf '%s %s %s\\n' "$rpctl_want" "$(stat -c '%a %U %G' "$1")" "$1" >> "$rpctl_backup/${MANIFEST}"
}
rpctl_intact() {
  rpctl_ok=1
  while read -r rpctl_s rpctl_z rpctl_mode rpctl_owner rpctl_group rpctl_p; do
    [ "$rpctl_p" = "$1" ] || continue
    [ -f "$rpctl_backup$1" ] && [ "$(rpctl_sum "$rpctl_backup$1") $(stat -c %s "$rpctl_backup$1")" = "$rpctl_s $rpctl_z" ] && rpctl_ok=0
    break
  done < "$rpctl_backup/${MANIFEST}"
  return $rpctl_ok
}
rpctl_refuse() { printf '@unrestorable %s %s\\n' "$2" "$1"; rpctl_unrestored=1; }
rpctl_put_back() {
  if [ -e "$rpctl_backup$1.rpctl-absent" ]; then rm -f "$1"; return; fi
  rpctl_intact "$1" || { rpctl_refuse "$1" differs; return; }
  [ -f "$1" ] && [ "$(rpctl_sum "$1") $(stat -c '%a %U %G' "$1")" = "$rpctl_s $rpctl_mode $rpctl_owner $rpctl_group" ] && return
  rpctl_new="$1.rpctl-restore"
  cp "$rpctl_backup$1" "$rpctl_new" && chown "$rpctl_owner:$rpctl_group" "$rpctl_new" && chmod "$rpctl_mode" "$rpctl_new" && mv -f "$rpctl_new" "$1" || { rm -f "$rpctl_new"; rpctl_refuse "$1" unwritable; }
}
rpctl_put_back_in_place() {
  if [ -e "$rpctl_backup$1.rpctl-absent" ]; then rm -f "$1"; return; fi
  rpctl_intact "$1" || { rpctl_refuse "$1" differs; return; }
  if [ -e "$1" ]; then cat "$rpctl_backup$1" > "$1" || rpctl_refuse "$1" unwritable
  else cp "$rpctl_backup$1" "$1" && chown "$rpctl_owner:$rpctl_group" "$1" && chmod "$rpctl_mode" "$1" || rpctl_refuse "$1" unwritable; fi
}`);

/** What a restore puts back: files the apply replaced (restored by rename) and files restored in place. */
export interface RestoreSet {
  renamed: readonly string[];
  inPlace: readonly string[];
  handlers: readonly { id: string; command: ShellCommand }[];
}

/** `rpctl_restore` (every backup put back; `$rpctl_unrestored` 1 when one was refused) and `rpctl_rerun_handlers`. */
export function restoreFunction(set: RestoreSet): ShellCommand {
  const putBack = [
    ...set.renamed.map((path) => sh`rpctl_put_back ${path}`),
    ...set.inPlace.map((path) => sh`rpctl_put_back_in_place ${path}`),
  ];
  const rerun = set.handlers.map((h) => sh`( ${h.command} ) 8>&- > /dev/null 2>&1 < /dev/null`);
  return joinCommands([
    script('rpctl_unrestored=0'),
    script('rpctl_restore() {'),
    ...putBack,
    script('true'),
    script('}'),
    script('rpctl_rerun_handlers() {'),
    ...rerun,
    script('true'),
    script('}'),
  ]);
}

/** Keep the newest `kept` run directories of `root` (run ids sort by time), remove the others. */
export function pruneRuns(root: string, kept: number): ShellCommand {
  return sh`ls -1 ${root} 2>/dev/null | sort -r | tail -n +${kept + 1} | while read -r rpctl_old; do rm -rf ${root}/"$rpctl_old"; done`;
}

/** A backup a restore did not put back: it `differs` from its record, or the live file was `unwritable`. */
export interface Unrestored {
  path: string;
  why: 'differs' | 'unwritable';
}

/** What an outcome said could not be restored (`@unrestorable WHY PATH` lines). */
export function unrestorable(output: string): Unrestored[] {
  return output.split('\n').flatMap((line) => {
    const found = /^@unrestorable (differs|unwritable) (.+)$/.exec(line);
    return found ? [{ path: found[2]!, why: found[1] as Unrestored['why'] }] : [];
  });
}

/** The report's words for backups a restore did not put back. */
export function refusedRestore(unrestored: readonly Unrestored[]): string {
  const paths = (why: Unrestored['why']) =>
    unrestored
      .filter((u) => u.why === why)
      .map((u) => u.path)
      .join(', ');
  return [
    paths('differs') &&
      `the backup of ${paths('differs')} differs from its recorded size and sha256: not restored, the live file left as it is`,
    paths('unwritable') && `putting back ${paths('unwritable')} failed (see --verbose): check it by hand`,
  ]
    .filter(Boolean)
    .join('; ');
}
