/**
 * Zod issues turned into one-line, human messages with the path they are about. Unions and record
 * keys are unfolded so a message names the real problem ("unknown key", "expected a number"), not
 * zod's internals ("Invalid input").
 */
import type { z } from 'zod';
import { closestName } from './spelling.js';

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
    default:
      return undefined;
  }
}

const join = (base: Path, rest: readonly PropertyKey[]): Path => [
  ...base,
  ...rest.map((segment) => (typeof segment === 'number' ? segment : String(segment))),
];

/**
 * One problem per issue (an unknown-keys issue gives one per key). `schema` is what was parsed,
 * for naming the keys allowed where an unknown one is; `base` prefixes every path.
 */
export function problemsFromIssues(issues: readonly Issue[], schema: z.ZodType, base: Path = []): Problem[] {
  return issues.flatMap((issue) => problemsFromIssue(issue, schema, base));
}

function problemsFromIssue(issue: Issue, schema: z.ZodType, base: Path): Problem[] {
  const path = join(base, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = keysAt(schema, issue.path);
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: unknownKeyMessage(key, allowed, (child) => keysAt(schema, [...issue.path, child])),
        atKey: true,
      }));
    }
    case 'invalid_key':
      return issue.issues.map((inner) => ({ path, message: inner.message, atKey: true }));
    case 'invalid_union':
      return unionProblems(issue, schemaAt(schema, issue.path), path);
    default:
      return [{ path, message: issue.message }];
  }
}

// Report the branch that got furthest; when every branch failed on the type itself, list the types.
function unionProblems(
  issue: Extract<Issue, { code: 'invalid_union' }>,
  union: z.ZodType | undefined,
  path: Path,
): Problem[] {
  const branches = issue.errors;
  const typeOnly = (branch: readonly Issue[]) =>
    branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0;
  const informative = branches.findIndex((branch) => branch.length > 0 && !typeOnly(branch));
  if (informative >= 0) {
    const options = defOf(union)?.options ?? [];
    const option = options[informative] ?? union;
    return option
      ? problemsFromIssues(branches[informative]!, option, path)
      : [{ path, message: issue.message }];
  }
  const expected = branches.flatMap((branch) =>
    branch[0]?.code === 'invalid_type' ? [typeName(branch[0].expected)] : [],
  );
  if (expected.length === 0) return [{ path, message: issue.message }];
  return [
    { path, message: `expected ${[...new Set(expected)].join(' or ')}, got ${describeInput(issue.input)}` },
  ];
}

// ---------------------------------------------------------------------------------------------
// Unknown keys: say what is allowed, or what was probably meant

function unknownKeyMessage(key: string, allowed: string[], keysUnder: (child: string) => string[]): string {
  if (key === '<<') return 'YAML merge keys (<<) are not supported; use defaults or groups';
  // close spellings: identityfile -> identityFile, sshh -> ssh (not port -> host)
  const close = closestName(key, allowed);
  if (close) return `unknown key; did you mean "${close}"?`;
  // the right key one level down: port next to host belongs in ssh
  const parent = allowed.find((candidate) => keysUnder(candidate).includes(key));
  if (parent) return `unknown key here; did you mean ${parent}.${key}?`;
  return allowed.length > 0 ? `unknown key; allowed here: ${allowed.join(', ')}` : 'unknown key';
}

// The parts of zod's schema definitions read here (zod 4 keeps them in `_zod.def`).
interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (schema: z.ZodType | undefined): SchemaDef | undefined =>
  schema?._zod.def as unknown as SchemaDef | undefined;

/** The schema at `path` inside `schema`, looking through optional, nullable, pipes, records and lists. */
function schemaAt(schema: z.ZodType | undefined, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current = unwrap(schema);
  for (const segment of path) {
    const def = defOf(current);
    if (def?.type === 'object') current = unwrap(def.shape?.[String(segment)]);
    else if (def?.type === 'record') current = unwrap(def.valueType);
    else if (def?.type === 'array') current = unwrap(def.element);
    else return undefined;
  }
  return current;
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (let def = defOf(current); def; def = defOf(current)) {
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner) break;
    current = inner;
  }
  return current;
}

function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const def = defOf(schemaAt(schema, path));
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}
