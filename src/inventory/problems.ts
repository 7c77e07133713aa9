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

export class InventoryError extends InputError {
  /** every problem, one line each, in file order */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const more =
      problems.length > 1 ? ` (and ${problems.length - 1} more; see rpctl inventory validate)` : '';
    super(`${problems[0] ?? 'invalid inventory'}${more}`, { detail: problems.join('\n') });
    this.problems = problems;
  }
}

/** Problems sorted by position and without duplicates (a group's mistake shows once, not per member). */
export function orderProblems(problems: Iterable<{ location: SourceLocation; line: string }>): string[] {
  const unique = new Map<string, { location: SourceLocation; line: string }>();
  for (const problem of problems) if (!unique.has(problem.line)) unique.set(problem.line, problem);
  return [...unique.values()]
    .sort((a, b) => a.location.line - b.location.line || a.location.column - b.location.column)
    .map((problem) => problem.line);
}
