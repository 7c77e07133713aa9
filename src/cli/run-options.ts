/**
 * Flags shared by the commands that run recipes on hosts (plan, apply, drift, facts and the
 * one-offs), and turning them into engine options. Every flag value is validated here: a bad one
 * is an InputError (exit 3) before anything is contacted.
 */
import type { Command } from 'commander';
import type { Recipe } from '../engine/contract.js';
import { DEFAULT_CONFIRM_TIMEOUT_S } from '../engine/run.js';
import { badFlagValue, InputError } from '../errors.js';
import type { Serial } from '../inventory/model.js';

export interface RunFlags {
  recipes?: string;
  concurrency?: string;
  handshakes?: string;
  serial?: string;
  maxFail?: string;
  allowDisruptive?: boolean;
  yes?: boolean;
  format?: string;
  output?: string;
  color?: boolean;
  /** --diff / --no-diff: unified diffs in the text report (and JSON) */
  diff?: boolean;
  acceptNewHostKeys?: boolean;
  lockTimeout?: string;
  confirmTimeout?: string;
}

export const DEFAULT_CONCURRENCY = 100;
/** simultaneous SSH handshakes; below sshd's default MaxStartups (10:30:100) of a jump host */
export const DEFAULT_HANDSHAKES = 10;
export const DEFAULT_LOCK_TIMEOUT_S = 30;
export { DEFAULT_CONFIRM_TIMEOUT_S };
/** commit-confirmed: a host whose change is not confirmed within this many seconds rolls back */
export const CONFIRM_TIMEOUT_RANGE = [10, 3600] as const;

export function addConnectionFlags(command: Command, concurrency = DEFAULT_CONCURRENCY): Command {
  return command
    .option('--concurrency <n>', `hosts worked on at once (default ${concurrency})`)
    .option('--handshakes <n>', `SSH handshakes at once (default ${DEFAULT_HANDSHAKES})`)
    .option(
      '--accept-new-host-keys',
      'trust and record host keys not yet in known_hosts (trust on first use)',
    );
}

export function addRecipeFlag(command: Command, recipes: readonly Recipe[]): Command {
  return command.option(
    '--recipes <names>',
    `only these recipes, comma-separated (${recipes.map((r) => r.name).join(', ')})`,
  );
}

export function addOutputFlags(command: Command, formats: readonly string[]): Command {
  return command
    .option('--format <format>', `output format: ${formats.join(', ')}`, formats[0])
    .option('--output <file>', 'write the report to FILE (atomically) instead of standard output')
    .option('--no-color', 'no colour, even on a terminal');
}

/** --diff / --no-diff; without either, diffs show except in an apply report after its confirmation. */
export function addDiffFlags(command: Command): Command {
  return command
    .option('--diff', 'show unified diffs of the changes (default, except after a confirmed apply)')
    .option('--no-diff', 'only the change summaries, no diffs');
}

/** The flags of a change; a one-off shows --allow-disruptive and --confirm-timeout only where they apply. */
export function addApplyFlags(
  command: Command,
  applies: { disruptive?: boolean; commitConfirmed?: boolean } = { disruptive: true, commitConfirmed: true },
): Command {
  command
    .option('--serial <n|n%>', 'change at most N hosts (or N% of them) at a time, batch after batch')
    .option('--max-fail <n|n%>', 'stop before the next batch once more than N hosts (or N%) failed');
  if (applies.disruptive)
    command.option('--allow-disruptive', 'also make changes that interrupt live calls (TURN restarts)');
  command
    .option('-y, --yes', 'do not ask for confirmation')
    .option(
      '--lock-timeout <seconds>',
      `wait this long for another run's lock (default ${DEFAULT_LOCK_TIMEOUT_S})`,
    );
  if (applies.commitConfirmed)
    command.option(
      '--confirm-timeout <seconds>',
      `network changes are commit-confirmed: a host rpctl cannot reach and confirm within this many seconds rolls back by itself (${CONFIRM_TIMEOUT_RANGE.join('-')}, default ${DEFAULT_CONFIRM_TIMEOUT_S})`,
    );
  return command;
}

export function parseCount(
  flag: string,
  value: string | undefined,
  fallback: number,
  min = 1,
  max = 100_000,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw badFlagValue(flag, `a whole number from ${min} to ${max}`, value);
  }
  return Number(value);
}

/** `N` or `N%` (1-100%); `allowZero` for --max-fail 0. */
export function parseSerial(flag: string, value: string | undefined, allowZero = false): Serial | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)(%?)$/.exec(value);
  const n = Number(match?.[1]);
  if (!match || (match[2] ? n < (allowZero ? 0 : 1) || n > 100 : n < (allowZero ? 0 : 1))) {
    throw badFlagValue(flag, `N or N% (${allowZero ? '0' : '1'}..100%)`, value);
  }
  return match[2] ? { percent: n } : { count: n };
}

export function parseFormat(value: string | undefined, formats: readonly string[]): string {
  const format = value ?? formats[0]!;
  if (!formats.includes(format)) throw badFlagValue('--format', `one of ${formats.join(', ')}`, format);
  return format;
}

export function selectRecipes(all: readonly Recipe[], value: string | undefined): Recipe[] {
  if (value === undefined) return [...all];
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !all.some((r) => r.name === n));
  if (names.length === 0 || unknown.length > 0) {
    throw new InputError(
      `--recipes: unknown recipe ${unknown.join(', ') || '(none given)'}; known: ${all.map((r) => r.name).join(', ')}`,
    );
  }
  return all.filter((r) => names.includes(r.name));
}
