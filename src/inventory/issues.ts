/**
 * Zod issues turned into one-line, human messages with the path they are about. Unions and record
 * keys are unfolded so a message names the real problem ("unknown key", "expected a number"), not
 * zod's internals ("Invalid input").
 */
import type { z } from 'zod';

export type Path = readonly (string | number)[];

export interface Problem {
  path: Path;
  message: string;
  /** the problem is the key itself (unknown key, bad name), not its value */
  atKey?: boolean;
}

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

// Kinds only, never the value: a mistyped secret (`password: 12345678`) must not be echoed.
function describeInput(input: unknown): string {
  if (input === null) return 'nothing';
  if (Array.isArray(input)) return 'a list';
  switch (typeof input) {
    case 'string':
      return 'a text value';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true/false';
    case 'object':
      return 'a mapping';
    default:
      return typeof input;
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a text value',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  record: 'a mapping (key: value)',
};

const typeName = (expected: string): string => TYPE_NAMES[expected] ?? expected;

/** Error map passed to every inventory parse: messages written for people editing YAML. */
export function inventoryErrorMap(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${typeName(issue.expected)}, got ${describeInput(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'array')
        return `needs at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string')
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `has more than ${issue.maximum} items`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be at most ${issue.maximum}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys': {
      const shape = (issue.inst as { shape?: Record<string, unknown> } | undefined)?.shape;
      return shape ? `${ALLOWED_PREFIX}${Object.keys(shape).join(', ')}` : undefined;
    }
    default:
      return undefined;
  }
}

// The error map cannot split one issue into a message per key, so it passes the allowed keys on.
const ALLOWED_PREFIX = 'allowed here: ';

function unknownKeyMessage(key: string, issueMessage: string): string {
  if (key === '<<') return 'YAML merge keys (<<) are not supported; use defaults or groups';
  if (!issueMessage.startsWith(ALLOWED_PREFIX)) return 'unknown key';
  const allowed = issueMessage.slice(ALLOWED_PREFIX.length).split(', ');
  const close = allowed.find((candidate) => editDistance(candidate.toLowerCase(), key.toLowerCase()) <= 2);
  return close ? `unknown key; did you mean "${close}"?` : `unknown key; ${issueMessage}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

const join = (base: Path, rest: readonly PropertyKey[]): Path => [
  ...base,
  ...rest.map((segment) => (typeof segment === 'number' ? segment : String(segment))),
];

/** One problem per issue; an unknown-keys issue gives one per key. */
export function problemsFromIssues(issues: readonly Issue[], base: Path = []): Problem[] {
  return issues.flatMap((issue) => problemsFromIssue(issue, base));
}

function problemsFromIssue(issue: Issue, base: Path): Problem[] {
  const path = join(base, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: unknownKeyMessage(key, issue.message),
        atKey: true,
      }));
    case 'invalid_key':
      return issue.issues.map((inner) => ({ path, message: inner.message, atKey: true }));
    case 'invalid_union':
      return unionProblems(issue, path);
    default:
      return [{ path, message: issue.message }];
  }
}

// Report the branch that got furthest; when every branch failed on the type itself, list the types.
function unionProblems(issue: Extract<Issue, { code: 'invalid_union' }>, path: Path): Problem[] {
  const branches = issue.errors;
  const typeOnly = (branch: readonly Issue[]) =>
    branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0;
  const informative = branches.filter((branch) => branch.length > 0 && !typeOnly(branch));
  if (informative.length > 0) return problemsFromIssues(informative[0]!, path);
  const expected = branches.flatMap((branch) =>
    branch[0]?.code === 'invalid_type' ? [typeName(branch[0].expected)] : [],
  );
  if (expected.length === 0) return [{ path, message: issue.message }];
  return [
    { path, message: `expected ${[...new Set(expected)].join(' or ')}, got ${describeInput(issue.input)}` },
  ];
}
