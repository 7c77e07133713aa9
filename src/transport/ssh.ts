/**
 * `openSession`: the one SSH connection rpctl makes to a host in a run, over ssh2. Every exec,
 * sudo exec, long-lived command and terminal of that host goes over it.
 *
 *   const handshakeLimit = pLimit(64);
 *   const jumpHosts = new JumpHosts();
 *   const session = await openSession(target, { acceptNewHostKeys: false, handshakeLimit, jumpHosts });
 *   const { stdout } = await session.exec(sh`cat /etc/turnserver.conf`, { sudo: true });
 *   await session.close();
 *   await jumpHosts.shutdown();
 *
 * Failures are `HostError`s with a one-line message naming the target: reasons `config`, `unreachable`,
 * `handshake`, `auth`, `host-key-mismatch`, `host-key-unknown`, `host-key-revoked`, `sudo-auth`,
 * `sudo`, `timeout`, `connection`, `stream`.
 */
import type { LimitFunction } from 'p-limit';
import { HostError } from '../errors.js';
import { type AuthMaterial, AuthSetupError, loadAuthMaterial } from './auth.js';
import { ConnectError, type Connection, connectEndpoint } from './connect.js';
import { type ExecContext, execCommand, execStream } from './exec.js';
import { type ForwardedChannel, JumpHosts } from './jump-hosts.js';
import { KnownHosts } from './known-hosts.js';
import {
  type Endpoint,
  type Environment,
  environment,
  planConnection,
  prefetchConnection,
} from './settings.js';
import type { ShellCommand } from './shell.js';
import { SshConfigError } from './ssh-config.js';
import type { SshTarget } from './target.js';
import { openTerminal, type Terminal, type TerminalOptions } from './terminal.js';
import type { ExecOptions, ExecResult, ExecStream, HostSession, SessionStats } from './types.js';

export { JumpHosts } from './jump-hosts.js';

export interface OpenSessionOptions {
  /** trust on first use: record an unknown host key in known_hosts instead of refusing the host */
  acceptNewHostKeys: boolean;
  /** shared by the run: caps simultaneous SSH handshakes (not the number of busy hosts) */
  handshakeLimit?: LimitFunction;
  /** shared by the run: one connection per jump host for every appliance behind it */
  jumpHosts?: JumpHosts;
  /** default ~/.ssh/config */
  sshConfigPath?: string;
  /** one line per event, never a secret */
  log?(line: string): void;
  /** ssh2's protocol debug lines (rpctl -vv); the caller redacts them */
  debug?(line: string): void;
  /** home directory, local user name, SSH_AUTH_SOCK (default: this process's) */
  environment?: Partial<Environment>;
}

function loadKnownHosts(name: string, endpoint: Endpoint): KnownHosts {
  try {
    return KnownHosts.load([...endpoint.knownHostsFiles, ...endpoint.globalKnownHostsFiles]);
  } catch (err) {
    throw new HostError('config', `${name}: cannot read known_hosts: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function material(name: string, endpoint: Endpoint, log: (l: string) => void): AuthMaterial {
  try {
    return loadAuthMaterial(endpoint, log);
  } catch (err) {
    if (err instanceof AuthSetupError) throw new HostError('auth', `${name}: ${err.message}`);
    throw err;
  }
}

/** Open the connection to one target (through its jump host, if it has one). */
export async function openSession(ssh: SshTarget, options: OpenSessionOptions): Promise<HostSession> {
  const { name } = ssh;
  const log = (line: string) => options.log?.(`${name}: ${line}`);
  const limit = <T>(handshake: () => Promise<T>): Promise<T> =>
    options.handshakeLimit ? options.handshakeLimit(handshake) : handshake();
  const env = environment({
    ...options.environment,
    ...(options.sshConfigPath ? { sshConfigPath: options.sshConfigPath } : {}),
  });
  await prefetchConnection(ssh, env); // ssh -G without blocking the other hosts' connections
  let plan: ReturnType<typeof planConnection>;
  try {
    plan = planConnection(ssh, env);
  } catch (err) {
    if (err instanceof SshConfigError) throw new HostError('config', `${name}: ${err.message}`);
    throw err;
  }
  for (const note of plan.notes) log(note);
  const { target, jump } = plan;
  log(describeEndpoint(`settings (${plan.resolvedBy})`, target));
  if (jump) log(describeEndpoint('jump host', jump));
  const knownHosts = loadKnownHosts(name, target);
  const auth = material(name, target, log);
  const debug = options.debug ? (line: string) => options.debug?.(`${name}: ${line}`) : undefined;

  let forwarded: ForwardedChannel | undefined;
  let privatePool: JumpHosts | undefined;
  try {
    if (jump) {
      if (!options.jumpHosts) privatePool = new JumpHosts();
      const pool = options.jumpHosts ?? privatePool!;
      const jumpLabel = `${jump.user}@${jump.host}:${jump.port}`;
      const connectBastion = (): Promise<Connection> =>
        limit(() =>
          connectEndpoint({
            endpoint: jump,
            auth: material(name, jump, log),
            knownHosts: loadKnownHosts(name, jump),
            acceptNewHostKeys: options.acceptNewHostKeys,
            log: (line) => log(`jump host ${jumpLabel}: ${line}`),
            ...(debug ? { debug } : {}),
          }),
        ).then(
          (connection) => {
            log(
              `connected to the jump host ${jumpLabel} in ${connection.handshakeMs} ms (${connection.authMethod}; ${connection.summary})`,
            );
            return connection;
          },
          (err: unknown) => {
            throw err instanceof ConnectError
              ? new ConnectError(err.reason, `jump host: ${err.message}`)
              : err;
          },
        );
      forwarded = await pool.forward(jump, connectBastion, target.host, target.port);
    }
    const request = {
      endpoint: target,
      auth,
      knownHosts,
      acceptNewHostKeys: options.acceptNewHostKeys,
      log,
      ...(debug ? { debug } : {}),
    };
    const via = forwarded ? { via: { channel: forwarded.channel, jumpHost: forwarded.jumpHost } } : {};
    const connection = await limit(() => connectEndpoint({ ...request, ...via }));
    const route = forwarded ? ` via ${forwarded.jumpHost}` : '';
    log(
      `connected to ${target.user}@${target.host}:${target.port}${route} in ${connection.handshakeMs} ms (${connection.authMethod}; ${connection.summary}; tried: ${connection.tried.join(', ')})`,
    );
    return new SshSession(ssh, target, connection, options, () => {
      forwarded?.release();
      void privatePool?.shutdown();
    });
  } catch (err) {
    forwarded?.release();
    await privatePool?.shutdown();
    if (err instanceof ConnectError)
      throw new HostError(err.reason, `${name}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** One --verbose line: where an endpoint is, how it authenticates, which known_hosts files vouch for it. */
function describeEndpoint(what: string, endpoint: Endpoint): string {
  const keys = endpoint.identityFiles.map((file) => file.path);
  const agent = endpoint.agent
    ? `agent ${endpoint.agent}${endpoint.identitiesOnly ? ' (IdentitiesOnly)' : ''}`
    : 'no agent';
  const alias = endpoint.hostKeyAlias ? `; host keys as ${endpoint.hostKeyAlias}` : '';
  return `${what}: ${endpoint.user}@${endpoint.host}:${endpoint.port}; keys: ${keys.join(', ') || 'none'}; ${agent}${endpoint.password ? '; password' : ''}; known_hosts: ${[...endpoint.knownHostsFiles, ...endpoint.globalKnownHostsFiles].join(', ')}${alias}`;
}

class SshSession implements HostSession {
  readonly name: string;
  private readonly counters: Omit<SessionStats, 'bytesSent' | 'bytesReceived'>;
  private readonly ctx: ExecContext;
  private lost: string | undefined;
  private closing: Promise<void> | undefined;
  private readonly ended: Promise<void>;

  constructor(
    ssh: SshTarget,
    endpoint: Endpoint,
    private readonly connection: Connection,
    options: OpenSessionOptions,
    private readonly onClosed: () => void,
  ) {
    this.name = ssh.name;
    this.counters = { connections: 1, execs: 0, sftpSessions: 0, handshakeMs: connection.handshakeMs };
    const { client } = connection;
    let sudoPassword: string | undefined;
    this.ctx = {
      client,
      name: this.name,
      user: endpoint.user,
      stats: this.counters as SessionStats,
      sudoPassword: () => {
        if (!ssh.sudoPassword) {
          throw new HostError(
            'sudo-auth',
            `${this.name}: sudo needs the password of ${endpoint.user}, but none was given`,
          );
        }
        sudoPassword ??= ssh.sudoPassword(endpoint.user);
        return sudoPassword;
      },
      closedReason: () => this.lost,
    };
    client.on('error', (err: Error) => {
      this.lost ??= `connection lost: ${err.message}`;
      options.log?.(`${this.name}: ${this.lost}`);
    });
    this.ended = new Promise((resolve) => {
      client.once('close', () => {
        this.lost ??= 'the connection was closed';
        this.onClosed();
        resolve();
      });
    });
  }

  get stats(): SessionStats {
    const bytes = this.connection.bytes();
    return { ...this.counters, bytesSent: bytes.sent, bytesReceived: bytes.received };
  }

  exec(command: ShellCommand, options?: ExecOptions): Promise<ExecResult> {
    return execCommand(this.ctx, command, options);
  }

  execStream(command: ShellCommand, options?: Omit<ExecOptions, 'timeoutMs'>): Promise<ExecStream> {
    return execStream(this.ctx, command, options);
  }

  terminal(options?: TerminalOptions): Promise<Terminal> {
    return openTerminal(this.ctx, options);
  }

  whenClosed(): Promise<void> {
    return this.ended;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.lost) {
        this.lost = 'the session is closed';
        this.connection.client.end();
      }
      // A peer that never answers the disconnect must not hold the run up.
      const timer = setTimeout(() => this.connection.client.destroy(), 5000);
      await this.ended;
      clearTimeout(timer);
    })();
    return this.closing;
  }
}
