/**
 * Planning one host: run each selected recipe's pure `plan` over the host's facts, in registry
 * order, each recipe seeing the files as the recipes before it will leave them. Changes that would
 * interrupt live calls are deferred unless --allow-disruptive; deferred changes are shown, never
 * applied, and later recipes plan against the files as they really are.
 *
 * The result is both what `plan`/`drift` show and what `apply` executes: the final content of
 * every file to write, the steps, validations and handlers (each once).
 */
import { HostError } from '../errors.js';
import type { ShellCommand } from '../transport/shell.js';
import { unifiedDiff } from './diff.js';
import type { GatheredFacts } from './facts.js';
import type { Change, FileFact, FileWrite, Handler, Recipe, RemoteStep } from './recipe.js';
import { REDACTED, type Redactor } from './redact.js';

export interface PlannedChange {
  recipe: string;
  summary: string;
  /** unified diffs of the files it writes (secrets shown as fingerprints or a placeholder) */
  diff: string;
  disruptive: boolean;
  /** disruptive without --allow-disruptive: shown, not applied */
  deferred: boolean;
  change: Change;
}

export interface HostPlan {
  host: string;
  changes: PlannedChange[];
  warnings: string[];
  /** final state of every file the applied changes write, with the file as it was when planned */
  writes: { write: FileWrite; before: FileFact }[];
  steps: RemoteStep[];
  validate: ShellCommand[];
  handlers: Handler[];
  /** set when a handler may cut the SSH path: apply is commit-confirmed, reconnecting over this */
  commitConfirmed?: { reconnectTo?: string };
}

export interface PlanOptions {
  allowDisruptive: boolean;
  now: Date;
  redactor: Redactor;
}

export interface SelectedRecipe {
  recipe: Recipe;
  desired: unknown;
}

function diffFor(write: FileWrite, before: FileFact, change: Change): string {
  if (write.secret) return change.display ?? `${write.path}: (secret content changed)\n`;
  const after = Buffer.isBuffer(write.content) ? write.content.toString('utf8') : write.content;
  const diff = unifiedDiff(write.path, before.exists ? before.content.toString('utf8') : undefined, after);
  return write.secretLines ? maskLines(diff, write.secretLines) : diff;
}

/** Diff lines (context, added, removed) whose text matches `pattern`: kept up to its first group. */
export function maskLines(diff: string, pattern: RegExp): string {
  return diff
    .split('\n')
    .map((line) => {
      if (!/^[ +-]/.test(line) || line.startsWith('--- ') || line.startsWith('+++ ')) return line;
      const match = pattern.exec(line.slice(1));
      return match ? `${line[0]}${match[1] ?? ''}${REDACTED}` : line;
    })
    .join('\n');
}

export function planHost(
  host: string,
  selected: readonly SelectedRecipe[],
  facts: GatheredFacts,
  options: PlanOptions,
): HostPlan {
  const plan: HostPlan = {
    host,
    changes: [],
    warnings: [],
    writes: [],
    steps: [],
    validate: [],
    handlers: [],
  };
  const writes = new Map<string, { write: FileWrite; before: FileFact }>();
  const validate = new Map<string, ShellCommand>();
  const handlers = new Map<string, Handler>();
  let view = facts;
  for (const { recipe, desired } of selected) {
    let result: ReturnType<Recipe['plan']>;
    try {
      result = recipe.plan(desired, view, { host, now: options.now });
    } catch (err) {
      if (err instanceof HostError) throw err;
      throw new HostError(
        'plan',
        `${host}: ${recipe.name}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    plan.warnings.push(...(result.warnings ?? []).map((w) => `${recipe.name}: ${w}`));
    for (const change of result.changes) {
      const disruptive =
        Boolean(change.disruptive) || (change.notify ?? []).some((h) => h.disruptive || h.mayCutSshPath);
      const deferred = disruptive && !options.allowDisruptive;
      const changeWrites = change.writes ?? [];
      const diff =
        changeWrites.map((w) => diffFor(w, view.file(w.path), change)).join('') || (change.display ?? '');
      plan.changes.push({
        recipe: recipe.name,
        summary: change.summary,
        diff: options.redactor.redact(diff),
        disruptive,
        deferred,
        change,
      });
      if (deferred) continue;
      for (const write of changeWrites) {
        const original = writes.get(write.path)?.before ?? facts.file(write.path);
        writes.set(write.path, { write, before: original });
      }
      view = view.withWrites(changeWrites);
      plan.steps.push(...(change.steps ?? []));
      for (const command of change.validate ?? []) validate.set(command.text, command);
      for (const handler of change.notify ?? [])
        if (!handlers.has(handler.id)) handlers.set(handler.id, handler);
    }
  }
  plan.writes = [...writes.values()];
  plan.validate = [...validate.values()];
  plan.handlers = [...handlers.values()];
  const cutting = plan.handlers.find((h) => h.mayCutSshPath);
  if (cutting) plan.commitConfirmed = { ...cutting.mayCutSshPath };
  return plan;
}

/** Changes that apply will make (not deferred). */
export const appliedChanges = (plan: HostPlan) => plan.changes.filter((c) => !c.deferred);
export const deferredChanges = (plan: HostPlan) => plan.changes.filter((c) => c.deferred);
