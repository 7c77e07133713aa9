/**
 * One authenticated ssh2 connection to an endpoint, directly over TCP or over a channel forwarded
 * by a jump host, with host key verification always on. Failures come back as `ConnectError`
 * (reason + one line without the target's name, which the caller puts in front).
 */
import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Algorithms, Client, type ClientErrorExtensions, type ConnectConfig } from 'ssh2';
import { type AuthMaterial, type AuthState, authHandler } from './auth.js';
import {
  type HostKeyFailureReason,
  type HostKeyOutcome,
  hostKeyAlgorithms,
  verifyHostKey,
} from './host-key.js';
import type { KnownHosts } from './known-hosts.js';
import { type Endpoint, hostKeyName } from './settings.js';

/** How a connection attempt fails; each is also a `HostError` reason once the host is named. */
export type ConnectFailureReason = 'unreachable' | 'handshake' | 'auth' | HostKeyFailureReason;

export class ConnectError extends Error {
  constructor(
    readonly reason: ConnectFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

/** Modern algorithms only; curve25519 first. AES-GCM leads the ciphers: it runs in OpenSSL, chacha20 in JS. */
const ALGORITHMS = {
  kex: [
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
  ],
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
  ],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compress: ['none'],
} satisfies Algorithms;

/**
 * How long the key exchange and authentication may take once the server has answered: sshd's own
 * LoginGraceTime default. The connect timeout covers only reaching the server (TCP and its
 * identification line), as OpenSSH's ConnectTimeout does: on a loaded appliance a live sshd can
 * take seconds to authenticate, and a scheduled drift check must not call that a failure.
 */
export const LOGIN_GRACE_MS = 120_000;

/**
 * One deadline at a time, checked only once the I/O already waiting has been handled: timers run
 * before I/O in Node's event loop, so in a control process starved of CPU (a loaded machine) a
 * connect or an answer that arrived in time would otherwise lose to a deadline that passed meanwhile.
 */
class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private armed = 0;

  set(ms: number, expired: () => void): void {
    this.clear();
    const id = this.armed;
    this.timer = setTimeout(() => setImmediate(() => id === this.armed && expired()), ms);
  }

  clear(): void {
    this.armed++;
    clearTimeout(this.timer);
  }
}

export interface ByteCounts {
  sent: number;
  received: number;
}

export interface ConnectRequest {
  endpoint: Endpoint;
  auth: AuthMaterial;
  knownHosts: KnownHosts;
  acceptNewHostKeys: boolean;
  /** a channel the jump host forwarded to the endpoint; without it, a TCP connection */
  via?: { channel: Duplex; jumpHost: string };
  log: (line: string) => void;
  /** ssh2's protocol debug lines (-vv); the caller redacts them */
  debug?: (line: string) => void;
}

export interface Connection {
  client: Client;
  /** milliseconds from TCP connect (or channel open) to authenticated */
  handshakeMs: number;
  bytes(): ByteCounts;
  /** the method that authenticated, e.g. `publickey id_ed25519`, `keyboard-interactive` */
  authMethod: string;
  /** every method tried, in order (the last one authenticated) */
  tried: string[];
  /** negotiated kex, host key, cipher: for the log */
  summary: string;
}

/** Count the bytes of a forwarded channel (a TCP socket counts its own). */
function meter(stream: Duplex): () => ByteCounts {
  const counts = { sent: 0, received: 0 };
  // Paused first, so adding a 'data' listener cannot start the flow before ssh2 listens.
  stream.pause();
  stream.on('data', (chunk: Buffer) => {
    counts.received += chunk.length;
  });
  const write = stream.write.bind(stream) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: Buffer, ...rest: unknown[]) => {
    counts.sent += chunk.length;
    return write(chunk, ...rest);
  }) as Duplex['write'];
  return () => ({ ...counts });
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary DNS failure)',
  EPIPE: 'connection closed',
};

type Phase = 'tcp' | 'kex' | 'auth';

interface Attempt {
  endpoint: Endpoint;
  via?: string;
  phase: Phase;
  hostKey: HostKeyOutcome;
  auth: AuthState;
}

function describeFailure(attempt: Attempt, err: Error & ClientErrorExtensions): ConnectError {
  const { host, port, user, connectTimeoutMs } = attempt.endpoint;
  const target = `${host}:${port}${attempt.via ? ` via jump host ${attempt.via}` : ''}`;
  const unreachable = (why: string) => new ConnectError('unreachable', `cannot connect to ${target}: ${why}`);
  if (attempt.hostKey.failure)
    return new ConnectError(attempt.hostKey.failure.reason, attempt.hostKey.failure.message);
  if (attempt.auth.passwordExpired) {
    return new ConnectError(
      'auth',
      `the password of ${user}@${host}:${port} has expired and must be changed at the first login`,
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (err.level === 'client-socket') return unreachable(SOCKET_ERRORS[code ?? ''] ?? err.message);
  if (err.level === 'client-timeout' && attempt.phase !== 'auth') {
    return unreachable(
      `timed out after ${connectTimeoutMs / 1000} s${attempt.phase === 'kex' ? ' during the SSH handshake' : ''}`,
    );
  }
  if (attempt.phase === 'auth' || err.level === 'client-authentication') {
    const tried = attempt.auth.tried.length > 0 ? attempt.auth.tried.join(', ') : 'none';
    const why = err.level === 'client-authentication' ? '' : `: ${err.message}`;
    return new ConnectError(
      'auth',
      `authentication failed for ${user}@${host}:${port} (methods tried: ${tried})${why}`,
    );
  }
  if (/before handshake/i.test(err.message))
    return unreachable('the server closed the connection before the SSH handshake');
  return new ConnectError('handshake', `SSH handshake with ${target} failed: ${err.message}`);
}

/** Connect, verify the host key, authenticate. Resolves once the connection is ready for channels. */
export function connectEndpoint(request: ConnectRequest): Promise<Connection> {
  const { endpoint, via, log } = request;
  const attempt: Attempt = {
    endpoint,
    phase: via ? 'kex' : 'tcp',
    hostKey: {},
    auth: { tried: [], passwordExpired: false },
  };
  if (via) attempt.via = via.jumpHost;
  const filedAs = hostKeyName(endpoint);
  const policy = {
    knownHosts: request.knownHosts,
    host: filedAs.host,
    port: filedAs.port,
    acceptNew: request.acceptNewHostKeys,
    hash: endpoint.hashKnownHosts,
  };

  return new Promise<Connection>((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let startedAt = performance.now();
    let summary = '';
    const deadline = new Deadline();
    const fail = (error: ConnectError) => {
      if (settled) return;
      settled = true;
      deadline.clear();
      client.destroy();
      reject(error);
    };

    let sock: Duplex;
    let bytes: () => ByteCounts;
    if (via) {
      sock = via.channel;
      bytes = meter(sock);
    } else {
      const socket = tcpConnect({ host: endpoint.host, port: endpoint.port, noDelay: true });
      socket.once('connect', () => {
        attempt.phase = 'kex';
        startedAt = performance.now();
      });
      sock = socket;
      bytes = () => ({ sent: socket.bytesWritten, received: socket.bytesRead });
    }

    client.on('handshake', (negotiated) => {
      attempt.phase = 'auth';
      summary = `${negotiated.kex}, ${negotiated.serverHostKey}, ${negotiated.cs.cipher}`;
      const record = attempt.hostKey.pendingRecord;
      if (!record) return;
      // Recorded only now: the key exchange has shown the server holds the private key.
      attempt.hostKey.pendingRecord = undefined;
      try {
        const key = record();
        log(
          `recorded the new host key ${key.keyType} ${key.fingerprint} of ${endpoint.host}:${endpoint.port} in ${key.file}:${key.line}`,
        );
      } catch (err) {
        fail(
          new ConnectError(
            'host-key-unknown',
            `cannot record the host key of ${endpoint.host}:${endpoint.port}: ${(err as Error).message}`,
          ),
        );
      }
    });
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      deadline.clear();
      // The method in progress when the server said yes is the last one tried.
      const authMethod = attempt.auth.tried.at(-1) ?? 'none';
      const handshakeMs = Math.round(performance.now() - startedAt);
      resolve({ client, handshakeMs, bytes, authMethod, tried: [...attempt.auth.tried], summary });
    });
    // Stays for the connection's life: an 'error' without a listener would crash the process.
    client.on('error', (err: Error & ClientErrorExtensions) => {
      if (!settled) fail(describeFailure(attempt, err));
    });
    client.on('close', () => {
      if (!settled)
        fail(describeFailure(attempt, new Error('the connection closed during the SSH handshake')));
    });
    client.on('change password', () => {
      attempt.auth.passwordExpired = true;
      client.end();
    });

    const config: ConnectConfig = {
      sock,
      username: endpoint.user,
      readyTimeout: 0, // the deadlines below
      keepaliveInterval: endpoint.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      algorithms: {
        ...ALGORITHMS,
        serverHostKey: hostKeyAlgorithms(request.knownHosts.lookup(filedAs.host, filedAs.port)),
      },
      ...(request.debug ? { debug: request.debug } : {}),
      hostVerifier: (key: Buffer) => verifyHostKey(policy, key, attempt.hostKey),
      authHandler: authHandler(endpoint.user, request.auth, attempt.auth),
    };
    const target = `${endpoint.host}:${endpoint.port}${via ? ` via jump host ${via.jumpHost}` : ''}`;
    const timeout = Object.assign(new Error('timed out'), { level: 'client-timeout' as const });
    deadline.set(endpoint.connectTimeoutMs, () => fail(describeFailure(attempt, timeout)));
    try {
      client.connect(config);
      // The server's first bytes (its identification line): it is alive; now the login grace runs.
      sock.once('data', () => {
        if (settled) return;
        deadline.set(LOGIN_GRACE_MS, () =>
          fail(
            new ConnectError(
              'handshake',
              `SSH handshake with ${target} did not finish within ${LOGIN_GRACE_MS / 1000} s of the server's answer (${attempt.phase === 'auth' ? 'authenticating' : 'key exchange'})`,
            ),
          ),
        );
      });
    } catch (err) {
      fail(
        new ConnectError(
          'handshake',
          `cannot start an SSH connection to ${endpoint.host}:${endpoint.port}: ${(err as Error).message}`,
        ),
      );
    }
  });
}
