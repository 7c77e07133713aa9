/**
 * What the engine needs from an SSH connection to one host. Implemented over ssh2 by
 * src/transport/ssh.ts: one connection per host per run, every exec on it (files travel on an
 * exec's stdin: stdin-files.ts).
 */
import type { ShellCommand } from './shell.js';
import type { Terminal, TerminalOptions } from './terminal.js';

export interface ExecResult {
  /** exit status; null when the remote process died of a signal or the channel closed without one */
  code: number | null;
  signal?: string;
  stdout: Buffer;
  stderr: Buffer;
}

export interface ExecOptions {
  /**
   * Run as root: the command is wrapped as `sudo -k -S -p '' -- sh -c SHIM rpctl-sudo MARKER COMMAND`
   * (see exec.ts: the shim prints MARKER before COMMAND runs, so sudo's failures are told from the
   * command's) and the sudo password goes first on stdin (never a command line). `-k` makes sudo ask
   * every time, so a cached credential can never leave the password line for the command to read.
   */
  sudo?: boolean;
  /** bytes for the command's stdin (sent after sudo has accepted the password when sudo is set) */
  stdin?: Buffer | string;
  /**
   * fail with reason `timeout` after this many milliseconds and close the channel (sshd lets a
   * command without a pty run on until it exits by itself)
   */
  timeoutMs?: number;
}

/** A command that keeps running while the caller does other work (e.g. the apply lock holder). */
export interface ExecStream {
  /** resolves with each line the command prints on stdout until it matches */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** everything printed on stdout so far */
  output(): Buffer;
  /** close stdin (EOF) and wait for the command to end */
  finish(): Promise<ExecResult>;
}

export interface UploadFile {
  /** file name inside the upload directory (no slashes) */
  name: string;
  content: Buffer | string;
  /** default 0600 */
  mode?: number;
}

export interface SessionStats {
  connections: number;
  execs: number;
  sftpSessions: number;
  bytesSent: number;
  bytesReceived: number;
  /** milliseconds from TCP connect to authenticated */
  handshakeMs: number;
}

export interface HostSession {
  /** the target's name (an appliance's inventory name) */
  readonly name: string;
  /** one exec round trip */
  exec(command: ShellCommand, options?: ExecOptions): Promise<ExecResult>;
  /** start a command and keep its channel open */
  execStream(command: ShellCommand, options?: Omit<ExecOptions, 'timeoutMs'>): Promise<ExecStream>;
  /**
   * A program on a pseudo-terminal (see terminal.ts): the login shell, which runs ~/.profile, or
   * `options.command`. For console conversations: PAM's password change, an install wizard.
   */
  terminal(options?: TerminalOptions): Promise<Terminal>;
  readonly stats: SessionStats;
  /** resolves once the connection has closed, from either side (e.g. the host went down) */
  whenClosed(): Promise<void>;
  close(): Promise<void>;
}
