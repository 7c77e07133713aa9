/**
 * Inventory problems as one line each, `FILE:LINE:COL: path.to.field: message`, and the
 * InputError that carries all of them (message: the first one and a count; detail: every one).
 */
import { InputError } from '../errors.js';
import type { Path } from './issues.js';
import type { SourceLocation } from './model.js';

// Odd keys are quoted (and escaped) so a path stays one readable line, terminal escapes included.
export const formatPath = (path: Path): string =>
  path
    .map((segment) =>
      /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(String(segment))
        ? String(segment)
        : JSON.stringify(String(segment)),
    )
    .join('.');

export function formatProblem(location: SourceLocation, path: Path, message: string): string {
  const where = `${location.file}:${location.line}:${location.column}`;
  return path.length > 0 ? `${where}: ${formatPath(path)}: ${message}` : `${where}: ${message}`;
}

/**
 * The source line at `location` with a caret under its column, as Terraform shows errors:
 *
 *     3 |     usr: pexip
 *       |     ^
 *
 * Undefined when the line is not in `text`. Control characters show as `?` (no terminal escapes).
 */
export function sourceExcerpt(text: string, location: SourceLocation): string | undefined {
  const line = text.split('\n')[location.line - 1];
  if (line === undefined) return undefined;
  const shown = line.replace(/\r$/, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?');
  const number = String(location.line);
  const gutter = ' '.repeat(number.length);
  const indent = shown.slice(0, Math.max(0, location.column - 1)).replace(/[^\t]/g, ' ');
  return `  ${number} | ${shown}\n  ${gutter} | ${indent}^`;
}

export class InventoryError extends InputError {
  /** every problem, one line each, in file order */
  readonly problems: readonly string[];
  /** per problem (same order), its source line with a caret, when known */
  readonly excerpts: readonly (string | undefined)[];

  constructor(problems: readonly string[], excerpts: readonly (string | undefined)[] = []) {
    const more =
      problems.length > 1 ? ` (and ${problems.length - 1} more; see rpctl inventory validate)` : '';
    const excerpt = excerpts[0];
    super(`${problems[0] ?? 'invalid inventory'}${more}`, {
      detail: problems.join('\n'),
      ...(excerpt ? { excerpt } : {}),
    });
    this.problems = problems;
    this.excerpts = excerpts;
  }
}

export interface LocatedProblem {
  location: SourceLocation;
  line: string;
}

/** Problems sorted by position and without duplicates (a group's mistake shows once, not per member). */
export function orderProblems(problems: Iterable<LocatedProblem>): LocatedProblem[] {
  const unique = new Map<string, LocatedProblem>();
  for (const problem of problems) if (!unique.has(problem.line)) unique.set(problem.line, problem);
  return [...unique.values()].sort(
    (a, b) => a.location.line - b.location.line || a.location.column - b.location.column,
  );
}

/** The error for located problems, each with its source line from `text`. */
export function inventoryError(problems: Iterable<LocatedProblem>, text: string): InventoryError {
  const ordered = orderProblems(problems);
  return new InventoryError(
    ordered.map((problem) => problem.line),
    ordered.map((problem) => sourceExcerpt(text, problem.location)),
  );
}
