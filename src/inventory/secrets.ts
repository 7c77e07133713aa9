/**
 * Secrets in the inventory are references, resolved once before any host is contacted:
 *
 *   env:NAME     an environment variable
 *   file:PATH    a file's content minus one trailing newline; relative to the inventory, ~ expanded
 *   prompt       asked on the terminal (hidden); an error when there is no terminal
 *   exec:COMMAND a password manager's command run without a shell (`exec:pass show pexip/sudo`),
 *                or `{ exec: [pass, show, pexip/sudo], timeout: 10 }`; see secret-exec.ts
 *   anything else  an inline plaintext secret: refused unless `allowInlineSecrets: true`
 *
 * `secret` is the zod field type recipes use for their own secret settings (TURN password, ...).
 * `Secrets` resolves the references of the selected appliances, caches the values and hands every
 * value to the redactor.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { SecretRef } from './model.js';
import { DEFAULT_EXEC_TIMEOUT_S, describeArgv, runSecretCommand, splitArgv } from './secret-exec.js';
import { showValue } from './types.js';

// Refs made by `secret`, so the loader can find them in parsed values of any shape.
const madeRefs = new WeakSet<object>();
// Inline values stay off the ref object: printing or serializing a ref never shows the secret.
const inlineValues = new WeakMap<object, string>();

export function isSecretRef(value: unknown): value is SecretRef {
  return typeof value === 'object' && value !== null && madeRefs.has(value);
}

function makeRef(ref: SecretRef, inline?: string): SecretRef {
  madeRefs.add(ref);
  if (inline !== undefined) inlineValues.set(ref, inline);
  return ref;
}

/** Parse the text of a secret field; `problem` is set when the text is a malformed reference. */
export function parseSecretRef(text: string): { ref: SecretRef } | { problem: string } {
  if (text === 'prompt') return { ref: makeRef({ kind: 'prompt' }) };
  if (text.startsWith('env:')) {
    const name = text.slice(4);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      return {
        problem: `${showValue(text)}: env: needs an environment variable name, e.g. env:RP_SUDO_PASSWORD`,
      };
    }
    return { ref: makeRef({ kind: 'env', name }) };
  }
  if (text.startsWith('file:')) {
    const path = text.slice(5);
    if (path === '' || /[\0\n\r]/.test(path)) {
      return {
        problem: 'file: needs the path of a file holding the secret, e.g. file:secrets/sudo-password',
      };
    }
    return { ref: makeRef({ kind: 'file', path }) };
  }
  if (text.startsWith('exec:')) {
    const split = splitArgv(text.slice(5));
    if ('problem' in split) {
      return { problem: `exec: needs a command, e.g. exec:pass show pexip/sudo (${split.problem})` };
    }
    return execSecretRef(split.argv);
  }
  if (text === '')
    return { problem: 'a secret must not be empty; use env:NAME, file:PATH, exec:COMMAND or prompt' };
  return { ref: makeRef({ kind: 'inline' }, text) };
}

function execSecretRef(argv: string[], timeoutSeconds = DEFAULT_EXEC_TIMEOUT_S): { ref: SecretRef } {
  return { ref: makeRef({ kind: 'exec', argv, timeoutSeconds }) };
}

/**
 * A reference to a value the CLI obtained itself (a password typed twice at a prompt), so it is
 * resolved, redacted and passed around like any other secret. `origin` names where it came from.
 */
export function valueSecretRef(value: string, origin: string): SecretRef {
  return makeRef({ kind: 'inline', origin }, value);
}

const execCommand = z
  .strictObject({
    exec: z
      .array(z.string().min(1))
      .min(1)
      .meta({ description: 'the command and its arguments, run without a shell; its output is the secret' }),
    timeout: z
      .int()
      .min(1)
      .max(600)
      .optional()
      .meta({ description: `seconds the command may take; default ${DEFAULT_EXEC_TIMEOUT_S}` }),
  })
  .meta({ description: 'a secret printed by a command (pass, vault, sops, op...)' });

/** The zod type of a secret field: a reference string (or an exec argv list) in, a SecretRef out. */
export const secret = z
  .union([z.string(), execCommand])
  .transform((input, ctx): SecretRef => {
    if (typeof input !== 'string') return execSecretRef(input.exec, input.timeout).ref;
    const parsed = parseSecretRef(input);
    if ('problem' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }
    return parsed.ref;
  })
  .meta({
    description:
      'a secret reference: env:NAME (environment variable), file:PATH (relative to this file, ~ expanded), exec:COMMAND (its output, e.g. exec:pass show pexip/sudo; no shell, 10 s timeout) or prompt (asked on the terminal)',
  });

/** A secret reference for messages; never the value. */
export function describeSecretRef(ref: SecretRef): string {
  switch (ref.kind) {
    case 'env':
      return `env:${ref.name}`;
    case 'file':
      return `file:${ref.path}`;
    case 'prompt':
      return 'prompt';
    case 'inline':
      return `the inline secret${ref.origin ? ` at ${ref.origin}` : ''}`;
    case 'exec':
      return `exec:${describeArgv(ref.argv)}`;
  }
}

/** One place a secret is used, e.g. `{ ref, label: 'sudo.password of lab-1' }`. */
export interface SecretUse {
  ref: SecretRef;
  label: string;
}

function cacheKey(ref: SecretRef): string | object {
  switch (ref.kind) {
    case 'env':
      return `env:${ref.name}`;
    case 'file':
      return `file:${ref.path}`;
    case 'prompt':
      // without an origin each ref is its own question
      return ref.origin === undefined ? ref : `prompt:${ref.origin}`;
    case 'inline':
      return ref;
    case 'exec':
      // the same command is run once per run, wherever it is written
      return `exec:${JSON.stringify(ref.argv)}`;
  }
}

function describeUses(uses: readonly SecretUse[]): string {
  const labels = [...new Set(uses.map((use) => use.label))];
  if (labels.length <= 2) return labels.join(', ');
  return `${labels.slice(0, 2).join(', ')} and ${labels.length - 2} more`;
}

function withoutOneNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'the file does not exist';
  if (code === 'EACCES') return 'the file cannot be read (permission denied)';
  if (code === 'EISDIR') return 'it is a directory, not a file';
  return `the file cannot be read (${code ?? 'error'})`;
}

/** Where secrets come from besides files: the environment and, on a terminal, the user. */
export interface SecretsIo {
  env: NodeJS.ProcessEnv;
  /** `prompt` secrets are asked only when this is true */
  stdinIsTTY: boolean;
  /** ask on the terminal; `secret` hides the answer */
  prompt(question: string, options?: { secret?: boolean }): Promise<string>;
}

export class Secrets {
  private readonly values = new Map<string | object, string>();

  constructor(private readonly io: SecretsIo) {}

  /**
   * Resolve every reference in `uses` (each distinct one once). All env/file problems are
   * reported together, before anything is asked on the terminal.
   */
  async resolve(uses: readonly SecretUse[]): Promise<void> {
    const pending = new Map<string | object, SecretUse[]>();
    for (const use of uses) {
      const key = cacheKey(use.ref);
      if (this.values.has(key)) continue;
      pending.set(key, [...(pending.get(key) ?? []), use]);
    }
    const problems: string[] = [];
    const prompts: [string | object, SecretUse[]][] = [];
    for (const [key, group] of pending) {
      const ref = group[0]!.ref;
      const where = `secret ${describeSecretRef(ref)} (${describeUses(group)})`;
      if (ref.kind === 'prompt') {
        if (this.io.stdinIsTTY) prompts.push([key, group]);
        else
          problems.push(
            `${where}: prompt needs a terminal; use env:NAME, file:PATH or exec:COMMAND when unattended`,
          );
        continue;
      }
      const result = await this.read(ref);
      const at = ref.kind === 'exec' && ref.at ? ` at ${ref.at}` : '';
      if ('problem' in result) problems.push(`${where}${at}: ${result.problem}`);
      else this.values.set(key, result.value);
    }
    if (problems.length > 0) throw secretsError(problems);
    for (const [key, group] of prompts) {
      const ref = group[0]!.ref;
      const origin = ref.kind === 'prompt' && ref.origin ? ` (${ref.origin})` : '';
      const answer = await this.io.prompt(`Secret for ${describeUses(group)}${origin}: `, { secret: true });
      if (answer === '') throw new InputError(`secret prompt (${describeUses(group)}): nothing was entered`);
      this.values.set(key, answer);
    }
  }

  private async read(ref: SecretRef): Promise<{ value: string } | { problem: string }> {
    switch (ref.kind) {
      case 'env': {
        const value = this.io.env[ref.name];
        if (value === undefined) return { problem: `environment variable ${ref.name} is not set` };
        if (value === '') return { problem: `environment variable ${ref.name} is empty` };
        return { value };
      }
      case 'file': {
        let content: string;
        try {
          content = await readFile(ref.path, 'utf8');
        } catch (err) {
          return { problem: fileProblem(err) };
        }
        const value = withoutOneNewline(content);
        return value === '' ? { problem: 'the file is empty' } : { value };
      }
      case 'inline': {
        const value = inlineValues.get(ref);
        if (value === undefined) throw new Error('an inline secret ref was copied and lost its value');
        return { value };
      }
      case 'exec': {
        const result = await runSecretCommand(ref.argv, ref.timeoutSeconds, this.io.env);
        return 'problem' in result ? { problem: `the command ${result.problem}` } : result;
      }
      case 'prompt':
        throw new Error('prompt refs are asked, not read');
    }
  }

  /** The value of a resolved reference; asking for an unresolved one is a bug in the caller. */
  get(ref: SecretRef): string {
    const value = this.values.get(cacheKey(ref));
    if (value === undefined) {
      throw new Error(`secret ${describeSecretRef(ref)} was used before it was resolved`);
    }
    return value;
  }

  /** Every resolved value, for the redactor. */
  resolvedValues(): string[] {
    return [...new Set(this.values.values())];
  }
}

function secretsError(problems: string[]): InputError {
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more secret problems)` : '';
  return new InputError(`${problems[0]}${more}`, { detail: problems.join('\n') });
}

/** Every secret reference inside a parsed value, with its path (`['turn', 'password']`). */
export function findSecretRefs(
  value: unknown,
  path: readonly (string | number)[] = [],
): { ref: SecretRef; path: (string | number)[] }[] {
  if (isSecretRef(value)) return [{ ref: value, path: [...path] }];
  if (Array.isArray(value)) return value.flatMap((item, i) => findSecretRefs(item, [...path, i]));
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.entries(value).flatMap(([key, item]) => findSecretRefs(item, [...path, key]));
  }
  return [];
}
