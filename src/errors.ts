/**
 * Errors as typed values: a one-line human message, optional detail behind it, and the
 * exit code the CLI turns it into (docs/architecture.md, "Exit codes").
 *
 *   throw new InputError('inventory prod.yaml:12:7: appliances.rp1.host: not an IPv4/IPv6 address or hostname');
 *
 * The CLI prints `message`, then `excerpt` (the source line at fault, with a caret), `detail` with
 * --verbose, and never a stack trace for these.
 */

export const ExitCode = {
  ok: 0,
  /** a host failed, was unreachable, or its apply's outcome is unknown (status `unknown`) */
  failed: 1,
  /** plan/drift: changes pending; apply: changes deferred (disruptive without --allow-disruptive) */
  changes: 2,
  /** invalid input: inventory, flags, PEM, addresses; nothing was contacted or changed */
  invalid: 3,
  /** apply stopped by SIGINT (128 + 2): started hosts finished, no other was started */
  interrupted: 130,
  /** apply stopped by SIGTERM (128 + 15) */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class RpctlError extends Error {
  readonly exitCode: ExitCode;
  readonly detail: string | undefined;
  /** lines shown under the message, e.g. an inventory line with a caret under the column at fault */
  readonly excerpt: string | undefined;

  constructor(
    message: string,
    options: { exitCode: ExitCode; detail?: string; excerpt?: string; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode;
    this.detail = options.detail;
    this.excerpt = options.excerpt;
  }
}

/** Bad input from the user: exit 3, raised before any host is contacted. */
export class InputError extends RpctlError {
  constructor(message: string, options: { detail?: string; excerpt?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.invalid });
  }
}

/**
 * Why one host failed, short and machine-friendly (JSON reports and run records carry it). A
 * reason not listed here does not compile: add it here, with the place that raises it.
 */
export type HostErrorReason =
  // reaching and logging in to the host (src/transport)
  | 'config'
  | 'unreachable'
  | 'handshake'
  | 'auth'
  | 'host-key-mismatch'
  | 'host-key-unknown'
  | 'host-key-revoked'
  | 'connection'
  | 'timeout'
  | 'stream'
  | 'sudo'
  | 'sudo-auth'
  // reading facts and planning (the engine and the recipes' planners)
  | 'facts'
  | 'not-an-appliance'
  | 'ambiguous-generation'
  | 'locked'
  | 'plan'
  // applying (apply-script.ts stages) and checking the result
  | 'stale'
  | 'backup'
  | 'install'
  | 'step'
  | 'validation'
  | 'handler'
  | 'apply'
  // obtaining what a change installs from elsewhere during apply (an ACME order: acquire.ts)
  | 'acquire'
  | 'verification'
  | 'unconfirmed'
  // the connection dropped during the apply and its outcome could not be read (outcome.ts)
  | 'outcome-unknown'
  // TURN probes
  | 'turn-protocol'
  | 'turn-timeout'
  | 'turn-unreachable'
  // waiting for an installed appliance to reboot
  | 'still-going-down'
  | 'reboot-timeout';

/** One host failed (unreachable, auth, sudo, validation, verification): exit 1, other hosts go on. */
export class HostError extends RpctlError {
  readonly reason: HostErrorReason;

  constructor(reason: HostErrorReason, message: string, options: { detail?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.failed });
    this.reason = reason;
  }
}

/** The one wording of a bad flag value: `--serial: expected N or N%, got "x"`. */
export function badFlagValue(flag: string, expected: string, got: string): InputError {
  return new InputError(`${flag}: expected ${expected}, got ${JSON.stringify(got)}`);
}

/** Render any thrown value as one line, without a stack trace. */
export function oneLine(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err).split('\n')[0] ?? 'unknown error';
}

/** A host's message without its leading `NAME: `, for lines that start with the name already (HostError messages start with it). */
export function withoutHostName(name: string, message: string): string {
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}
