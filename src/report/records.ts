/**
 * Run records: every apply writes one JSON file (time, user, inventory, per-host changes with
 * diffs, outcome), secrets redacted, into the state directory:
 *
 *   --state-dir, else $RPCTL_STATE_DIR, else $XDG_STATE_HOME/rpctl, else ~/.local/state/rpctl
 *     runs/20261120T101500Z-3f2a1c-apply.json
 *     history/<fleet>-<hash>.jsonl   (history.ts)
 *
 * Written atomically (temp file + rename), mode 0600 in a 0700 directory; in a state directory
 * shared by a group (a timer and the operators: `install -d -m 2770 -g rpctl /var/lib/rpctl`),
 * 0660 in 0770 directories, so every member can read and add to the history.
 */
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Redactor } from '../engine/redact.js';
import type { FleetResult } from '../engine/run.js';
import type { ChangeKind } from './history.js';
import { jsonReport } from './json.js';

export function stateDir(env: NodeJS.ProcessEnv): string {
  if (env.RPCTL_STATE_DIR) return env.RPCTL_STATE_DIR;
  return join(env.XDG_STATE_HOME ?? join(env.HOME ?? homedir(), '.local', 'state'), 'rpctl');
}

/** Whether `dir` exists and its group may read and write it (a shared state directory). */
function groupShared(dir: string): boolean {
  try {
    return (statSync(dir).mode & 0o070) === 0o070;
  } catch {
    return false;
  }
}

/** The mode of a file written into `dir`: group-writable only in a shared directory. */
export const fileModeIn = (dir: string): number => (groupShared(dir) ? 0o660 : 0o600);
/** The mode of a directory created in `parent`. */
export const dirModeIn = (parent: string): number => (groupShared(parent) ? 0o770 : 0o700);

export interface RunContext {
  inventory: string;
  argv: readonly string[];
  /** per host and recipe: corrective or intentional change */
  kinds?: ReadonlyMap<string, ReadonlyMap<string, ChangeKind>>;
}

/** Write `content` to `path` atomically with mode 0600. */
export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

export function writeRunRecord(
  result: FleetResult,
  context: RunContext,
  env: NodeJS.ProcessEnv,
  redactor: Redactor,
): string {
  const dir = join(stateDir(env), 'runs');
  mkdirSync(dir, { recursive: true, mode: dirModeIn(stateDir(env)) });
  const record = {
    ...jsonReport(result, { diffs: true, kinds: context.kinds }),
    user: userInfo().username,
    controlHost: hostname(),
    inventory: context.inventory,
    argv: context.argv,
  };
  const path = join(dir, `${result.runId}-${result.mode}.json`);
  writeFileAtomic(path, `${redactor.redact(JSON.stringify(record, null, 2))}\n`, fileModeIn(dir));
  return path;
}
