/**
 * A program on a pseudo-terminal, over the session's connection: the login shell (which runs the
 * user's ~/.profile) or one command. For the conversations a person has at a console, such as
 * PAM's forced password change and an install wizard.
 *
 *   const terminal = await session.terminal();                       // login shell
 *   await terminal.waitFor((text) => (/Current password: $/.test(text) ? true : undefined), {
 *     what: 'the password prompt',
 *     timeoutMs: 10_000,
 *   });
 *   terminal.write(`${password}\r`);
 *
 * The output is kept as the program printed it (UTF-8, \r\n line ends, escape sequences); what the
 * caller writes is echoed by the terminal unless the program turned echo off (password prompts).
 * Nothing here logs or formats what goes in or comes out: callers redact before recording.
 */
import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel, PseudoTtyOptions } from 'ssh2';
import { HostError } from '../errors.js';
import type { ExecContext } from './remote-process.js';
import type { ShellCommand } from './shell.js';

export interface TerminalOptions {
  /** run this command instead of the login shell */
  command?: ShellCommand;
  /** default 120 x 40, TERM=xterm */
  cols?: number;
  rows?: number;
  term?: string;
}

export interface TerminalExit {
  /** exit status; null when the program died of a signal or the connection went away */
  code: number | null;
  signal?: string;
}

export interface WaitOptions {
  /** what is awaited, for the error message: "the password prompt" */
  what: string;
  timeoutMs: number;
  /** test only the output from this offset on (default 0) */
  from?: number;
  /** test once the output has been quiet this long, so a prompt is not taken from half a line */
  quietMs?: number;
}

/** Why a wait ended without a match; the message names what was awaited. */
export class TerminalWaitError extends Error {
  constructor(
    readonly reason: 'timeout' | 'closed',
    message: string,
  ) {
    super(message);
    this.name = 'TerminalWaitError';
  }
}

export interface Terminal {
  /** everything printed so far */
  output(): string;
  /** resolves with the first value `test` returns for the output (from `from` on) */
  waitFor<T>(test: (text: string) => T | undefined, options: WaitOptions): Promise<T>;
  write(text: string): void;
  /** Ctrl-C: the terminal sends SIGINT to the foreground program */
  interrupt(): void;
  /** resolves when the program has ended and its channel closed */
  readonly exited: Promise<TerminalExit>;
  closed(): boolean;
  close(): void;
}

const ETX = '\x03';

class ChannelTerminal implements Terminal {
  private text = '';
  private ended = false;
  private readonly listeners = new Set<() => void>();
  readonly exited: Promise<TerminalExit>;

  constructor(private readonly channel: ClientChannel) {
    const decoder = new StringDecoder('utf8');
    const received = (chunk: Buffer) => {
      this.text += decoder.write(chunk);
      for (const listener of [...this.listeners]) listener();
    };
    channel.on('data', received);
    channel.stderr.on('data', received);
    let exit: TerminalExit = { code: null };
    channel.on('exit', (code: number | null, signal?: string) => {
      exit = signal ? { code: null, signal } : { code: code ?? null };
    });
    this.exited = new Promise((resolve) => {
      channel.on('close', () => {
        this.text += decoder.end();
        this.ended = true;
        for (const listener of [...this.listeners]) listener();
        resolve(exit);
      });
    });
  }

  output(): string {
    return this.text;
  }

  closed(): boolean {
    return this.ended;
  }

  write(text: string): void {
    if (!this.ended) this.channel.write(text);
  }

  interrupt(): void {
    this.write(ETX);
  }

  close(): void {
    if (!this.ended) this.channel.close();
  }

  waitFor<T>(test: (text: string) => T | undefined, options: WaitOptions): Promise<T> {
    const { from = 0, quietMs = 0, timeoutMs, what } = options;
    return new Promise<T>((resolve, reject) => {
      let quiet: NodeJS.Timeout | undefined;
      const finish = (settle: () => void) => {
        clearTimeout(deadline);
        clearTimeout(quiet);
        this.listeners.delete(listener);
        settle();
      };
      const evaluate = () => {
        const value = test(this.text.slice(from));
        if (value !== undefined) finish(() => resolve(value));
        else if (this.ended)
          finish(() => reject(new TerminalWaitError('closed', `the terminal closed before ${what}`)));
      };
      const listener = () => {
        clearTimeout(quiet);
        if (this.ended || quietMs === 0) evaluate();
        else quiet = setTimeout(evaluate, quietMs);
      };
      const deadline = setTimeout(
        () =>
          finish(() => reject(new TerminalWaitError('timeout', `no ${what} within ${timeoutMs / 1000} s`))),
        timeoutMs,
      );
      this.listeners.add(listener);
      listener();
    });
  }
}

/** Open a PTY channel running the login shell or `options.command`. */
export function openTerminal(ctx: ExecContext, options: TerminalOptions = {}): Promise<Terminal> {
  const lost = ctx.closedReason();
  if (lost) return Promise.reject(new HostError('connection', `${ctx.name}: ${lost}`));
  const window: PseudoTtyOptions = {
    term: options.term ?? 'xterm',
    cols: options.cols ?? 120,
    rows: options.rows ?? 40,
  };
  ctx.stats.execs++;
  return new Promise((resolve, reject) => {
    const opened = (err: Error | undefined, channel: ClientChannel) => {
      if (err) {
        reject(
          new HostError('connection', `${ctx.name}: cannot open a terminal: ${err.message}`, { cause: err }),
        );
        return;
      }
      resolve(new ChannelTerminal(channel));
    };
    try {
      if (options.command) ctx.client.exec(options.command.text, { pty: window }, opened);
      else ctx.client.shell(window, opened);
    } catch (err) {
      reject(new HostError('connection', `${ctx.name}: cannot open a terminal: ${(err as Error).message}`));
    }
  });
}
