/**
 * A terminal over a fake ssh2 channel: the real `openTerminal` code, with a scripted program on the
 * other end. `program` sees each write and answers with `channel.print(...)` or `channel.end()`.
 *
 *   const terminal = await fakeTerminal((input, ch) => ch.print(`you typed ${input}`), (ch) => ch.print('> '));
 */
import { EventEmitter } from 'node:events';
import type { ExecContext } from '../../../src/transport/remote-process.js';
import { openTerminal, type Terminal, type TerminalOptions } from '../../../src/transport/terminal.js';

export class FakeChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  readonly written: string[] = [];
  private ended = false;

  constructor(private readonly program: (input: string, channel: FakeChannel) => void) {
    super();
  }

  write(data: string): boolean {
    this.written.push(data);
    setImmediate(() => this.program(data, this));
    return true;
  }

  print(text: string): void {
    if (!this.ended) this.emit('data', Buffer.from(text));
  }

  end(code = 0): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('exit', code);
    this.emit('close');
  }

  close(): void {
    this.end(0);
  }
}

export interface FakeTerminal {
  terminal: Terminal;
  channel: FakeChannel;
  /** what the terminal was asked to run: undefined for the login shell */
  command: string | undefined;
}

export async function fakeTerminal(
  program: (input: string, channel: FakeChannel) => void,
  start: (channel: FakeChannel) => void = () => {},
  options: TerminalOptions = {},
): Promise<FakeTerminal> {
  const channel = new FakeChannel(program);
  let command: string | undefined;
  const opened = (cb: (err: Error | undefined, ch: FakeChannel) => void) => {
    cb(undefined, channel);
    setImmediate(() => start(channel));
  };
  const client = {
    shell: (_window: unknown, cb: (err: Error | undefined, ch: FakeChannel) => void) => opened(cb),
    exec: (text: string, _options: unknown, cb: (err: Error | undefined, ch: FakeChannel) => void) => {
      command = text;
      opened(cb);
    },
  };
  const ctx = {
    client,
    name: 'rp1',
    user: 'pexip',
    stats: { connections: 1, execs: 0, sftpSessions: 0, bytesSent: 0, bytesReceived: 0, handshakeMs: 0 },
    sudoPassword: () => '',
    closedReason: () => undefined,
  } as unknown as ExecContext;
  const terminal = await openTerminal(ctx, options);
  return { terminal, channel, command };
}
