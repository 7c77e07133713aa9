/**
 * The one helper that builds remote shell commands. Every value that reaches a remote shell goes
 * through `sh`, which quotes each interpolation, so shell strings are never concatenated by hand.
 *
 *   sh`service ${name} reload`            -> service nginx reload
 *   sh`cat ${path}`                       -> cat '/etc/x y'
 *   sh`${cmdA} && ${cmdB}`                -> ShellCommands nest unquoted (they are already safe)
 *
 * Transport functions accept only `ShellCommand` objects, so a hand-built string fails to compile.
 * Values must be validated by type (address, port, ...) before they get here: quoting makes them
 * inert, validation makes them right.
 */
import { InputError } from '../errors.js';

export class ShellCommand {
  /** Use `sh`, `joinCommands` or `script` to build one. */
  private constructor(readonly text: string) {}

  /** @internal factory shared by the builders below */
  static of(text: string): ShellCommand {
    return new ShellCommand(text);
  }

  toString(): string {
    return this.text;
  }
}

export type ShellValue = string | number | bigint | ShellCommand | readonly ShellValue[];

const SAFE_UNQUOTED = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX single-quote a value so any shell reads it back byte for byte. */
export function quote(value: string | number | bigint): string {
  const text = String(value);
  if (text.includes('\0')) {
    throw new InputError('a value passed to a remote command contains a NUL byte, which no shell can carry');
  }
  if (text !== '' && SAFE_UNQUOTED.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function render(value: ShellValue): string {
  if (value instanceof ShellCommand) return value.text;
  if (Array.isArray(value)) return value.map((v: ShellValue) => render(v)).join(' ');
  return quote(value as string | number | bigint);
}

/** Tagged template: literal parts are program text written in this repository; every value is quoted. */
export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): ShellCommand {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return ShellCommand.of(out);
}

/** Join commands that are already safe. */
export function joinCommands(
  parts: readonly ShellCommand[],
  separator: '\n' | '; ' | ' && ' = '\n',
): ShellCommand {
  return ShellCommand.of(parts.map((p) => p.text).join(separator));
}

/**
 * A constant program text of rpctl's own (a script body with no interpolated values), e.g. read from
 * a file shipped in this repository. Never pass anything derived from input.
 */
export function script(text: string): ShellCommand {
  return ShellCommand.of(text);
}
