/**
 * Commands on an open connection, one SSH channel each. With `sudo`, the command runs as
 *
 *   sudo -k -S -p '' -- sh -c 'printf "%s\n" "$1"; exec sh -c "$2"' rpctl-sudo MARKER COMMAND
 *
 * and the password goes first on stdin. The shim prints MARKER once sudo has accepted the password
 * and before COMMAND starts, so a failure without it is sudo's (wrong password, not a sudoer), never
 * the command's, even when COMMAND has a syntax error. The caller's own stdin is sent only after
 * the marker: sudo reads up to three password lines, and must never be fed the command's input.
 */
import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import { HostError } from '../errors.js';
import { type ExecContext, RemoteProcess } from './remote-process.js';
import { type ShellCommand, sh } from './shell.js';
import type { ExecOptions, ExecResult, ExecStream } from './types.js';

export type { ExecContext } from './remote-process.js';

// $1 is the marker, $2 the command: passed as arguments, so neither is ever spliced into a script.
const SUDO_SHIM = 'printf "%s\\n" "$1"; exec sh -c "$2"';

function openChannel(ctx: ExecContext, text: string): Promise<ClientChannel> {
  const lost = ctx.closedReason();
  if (lost) return Promise.reject(new HostError('connection', `${ctx.name}: ${lost}`));
  return new Promise((resolve, reject) => {
    const failed = (err: Error) =>
      reject(
        new HostError('connection', `${ctx.name}: cannot start a command: ${err.message}`, { cause: err }),
      );
    try {
      ctx.client.exec(text, (err, channel) => (err ? failed(err) : resolve(channel)));
    } catch (err) {
      failed(err as Error);
    }
  });
}

async function start(
  ctx: ExecContext,
  command: ShellCommand,
  options: Omit<ExecOptions, 'stdin'> & { stdin?: Buffer | string },
): Promise<RemoteProcess> {
  let password: string | undefined;
  let marker: string | undefined;
  let text = command.text;
  if (options.sudo) {
    password = ctx.sudoPassword();
    marker = `rpctl-sudo-${randomBytes(8).toString('hex')}`;
    text = sh`sudo -k -S -p '' -- sh -c ${SUDO_SHIM} rpctl-sudo ${marker} ${command.text}`.text;
  }
  ctx.stats.execs++;
  const channel = await openChannel(ctx, text);
  const remote = new RemoteProcess(ctx, channel, marker, password, options.timeoutMs);
  if (password !== undefined) channel.write(`${password}\n`);
  return remote;
}

export async function execCommand(
  ctx: ExecContext,
  command: ShellCommand,
  options: ExecOptions = {},
): Promise<ExecResult> {
  const remote = await start(ctx, command, options);
  remote.started.then(
    () => {
      if (options.stdin !== undefined) remote.channel.write(options.stdin);
      remote.endStdin();
    },
    () => {},
  );
  // Nothing to hold back: end stdin now, so after a wrong password sudo sees EOF and stops asking.
  if (options.sudo && options.stdin === undefined) remote.endStdin();
  return remote.ended;
}

/** Start a long-lived command; with sudo, resolves once sudo has accepted the password. */
export async function execStream(
  ctx: ExecContext,
  command: ShellCommand,
  options: Omit<ExecOptions, 'timeoutMs'> = {},
): Promise<ExecStream> {
  const remote = await start(ctx, command, options);
  remote.ended.catch(() => {}); // reported by `started` below, or by finish()
  await Promise.race([remote.started, remote.ended]);
  if (options.stdin !== undefined) remote.channel.write(options.stdin);
  return {
    waitFor: (pattern, timeoutMs) => remote.waitFor(pattern, timeoutMs),
    output: () => remote.output(),
    finish: () => {
      remote.endStdin();
      return remote.ended;
    },
  };
}
