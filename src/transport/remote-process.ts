/**
 * One command on one SSH channel: collects its output and exit status, and, for sudo commands,
 * strips the marker line the sudo shim prints (see exec.ts) and tells sudo's own failures (wrong
 * password, not a sudoer) from the command's. Never puts a secret in a message.
 */
import type { Client, ClientChannel } from 'ssh2';
import { HostError } from '../errors.js';
import type { ExecResult, SessionStats } from './types.js';

export interface ExecContext {
  client: Client;
  /** the target's name, first word of every message */
  name: string;
  /** the login user, whose password sudo asks for */
  user: string;
  stats: SessionStats;
  /** the sudo password; throws HostError('sudo-auth') when the target has none */
  sudoPassword(): string;
  /** why the connection is gone, once it is */
  closedReason(): string | undefined;
}

// What sudo prints when it refuses a password (sudo 1.8 and 1.9).
const SUDO_PASSWORD_REJECTED =
  /incorrect password|no password was provided|Sorry, try again|Authentication failure/i;
const SUDO_NOT_ALLOWED = /not in the sudoers|is not allowed to (execute|run)|may not run sudo/i;

function redact(text: string, secret: string | undefined): string {
  return secret ? text.replaceAll(secret, '[redacted]') : text;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

/** A command running on one channel: collects output, tells sudo's failures from the command's. */
export class RemoteProcess {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  /** stdout lines not yet returned by waitFor, and the unfinished last line */
  private readonly lines: string[] = [];
  private partialLine = '';
  private readonly lineWaiters = new Set<() => void>();
  private markerPending: Buffer | undefined;
  private code: number | null = null;
  private signal: string | undefined;
  private timedOut = false;
  private stdinEnded = false;
  private closed = false;
  /** resolves when the command itself has started (at once without sudo) */
  readonly started: Promise<void>;
  /** resolves when the channel has closed; rejects on sudo failures, timeouts, lost connections */
  readonly ended: Promise<ExecResult>;

  constructor(
    private readonly ctx: ExecContext,
    readonly channel: ClientChannel,
    marker: string | undefined,
    private readonly password: string | undefined,
    timeoutMs: number | undefined,
  ) {
    if (marker) this.markerPending = Buffer.from(`${marker}\n`);
    let markStarted!: () => void;
    let failStart!: (err: Error) => void;
    this.started = new Promise((resolve, reject) => {
      markStarted = resolve;
      failStart = reject;
    });
    if (!marker) markStarted();
    this.started.catch(() => {}); // observed through `ended` as well

    channel.on('data', (chunk: Buffer) => {
      if (this.markerPending && this.consumeMarker(chunk, markStarted)) return;
      this.onStdout(chunk);
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      this.stderr.push(chunk);
      // A rejected password: close stdin so sudo gives up now instead of waiting for another line.
      if (this.markerPending && SUDO_PASSWORD_REJECTED.test(this.stderrText())) this.endStdin();
    });
    channel.on('exit', (code: number | null, signal?: string) => {
      this.code = code ?? null;
      if (signal) this.signal = signal;
    });
    this.ended = new Promise((resolve, reject) => {
      let settled = false;
      const settle = (failure: HostError | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failure) {
          failStart(failure);
          reject(failure);
          return;
        }
        const result: ExecResult = {
          code: this.code,
          stdout: Buffer.concat(this.stdout),
          stderr: Buffer.concat(this.stderr),
        };
        if (this.signal) result.signal = this.signal;
        resolve(result);
      };
      // sshd does not kill a command without a pty when its channel closes: it keeps the channel
      // until the command exits. So a timeout fails now and does not wait for the channel.
      const timer = timeoutMs
        ? setTimeout(() => {
            this.timedOut = true;
            channel.close();
            settle(this.failure(timeoutMs));
          }, timeoutMs)
        : undefined;
      channel.on('close', () => {
        this.closed = true;
        if (this.partialLine !== '') this.pushLine(this.partialLine);
        this.partialLine = '';
        for (const wake of this.lineWaiters) wake();
        settle(this.failure(timeoutMs));
      });
    });
  }

  /** Strip the marker line from the start of stdout; true while still waiting for all of it. */
  private consumeMarker(chunk: Buffer, markStarted: () => void): boolean {
    const expected = this.markerPending!;
    const head = Buffer.concat([...this.stdout.splice(0), chunk]);
    if (head.length < expected.length && expected.subarray(0, head.length).equals(head)) {
      this.stdout.push(head);
      return true;
    }
    this.markerPending = undefined;
    if (head.subarray(0, expected.length).equals(expected)) {
      markStarted();
      const rest = head.subarray(expected.length);
      if (rest.length > 0) this.onStdout(rest);
    } else {
      this.onStdout(head); // cannot happen with sudo's own output; kept as output rather than lost
    }
    return true;
  }

  private onStdout(chunk: Buffer): void {
    this.stdout.push(chunk);
    const parts = (this.partialLine + chunk.toString('utf8')).split('\n');
    this.partialLine = parts.pop() ?? '';
    for (const line of parts) this.pushLine(line);
  }

  private pushLine(line: string): void {
    this.lines.push(line);
    for (const wake of this.lineWaiters) wake();
  }

  private stderrText(): string {
    return Buffer.concat(this.stderr).toString('utf8');
  }

  private failure(timeoutMs: number | undefined): HostError | undefined {
    const { name, user } = this.ctx;
    if (this.timedOut)
      return new HostError(
        'timeout',
        `${name}: the command did not finish within ${(timeoutMs ?? 0) / 1000} s`,
      );
    const lost = this.ctx.closedReason();
    if (this.code === null && this.signal === undefined && lost)
      return new HostError('connection', `${name}: ${lost}`);
    if (!this.markerPending) return undefined;
    // sudo ended without starting the command.
    const said = redact(this.stderrText(), this.password);
    if (SUDO_PASSWORD_REJECTED.test(said))
      return new HostError('sudo-auth', `${name}: sudo rejected the password for ${user}`);
    if (SUDO_NOT_ALLOWED.test(said))
      return new HostError('sudo', `${name}: ${user} may not run commands as root with sudo`);
    return new HostError(
      'sudo',
      `${name}: sudo failed before running the command: ${firstLine(said) || `exit status ${this.code}`}`,
    );
  }

  endStdin(): void {
    if (this.stdinEnded) return;
    this.stdinEnded = true;
    this.channel.end();
  }

  output(): Buffer {
    return Buffer.concat(this.stdout);
  }

  /** The next stdout line matching `pattern` (lines already returned are not looked at again). */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    const { name } = this.ctx;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        while (this.lines.length > 0) {
          const line = this.lines.shift()!;
          if (pattern.test(line)) return done(() => resolve(line));
        }
        if (this.closed) {
          const said = firstLine(redact(this.stderrText(), this.password));
          done(() =>
            reject(
              new HostError(
                'stream',
                `${name}: the command ended before printing ${pattern}${said ? `: ${said}` : ''}`,
              ),
            ),
          );
        }
      };
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.lineWaiters.delete(check);
        settle();
      };
      timer = setTimeout(
        () =>
          done(() =>
            reject(
              new HostError(
                'timeout',
                `${name}: waited ${timeoutMs / 1000} s for the command to print ${pattern}`,
              ),
            ),
          ),
        timeoutMs,
      );
      this.lineWaiters.add(check);
      check();
    });
  }
}
