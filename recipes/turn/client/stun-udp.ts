/**
 * STUN transactions over one connected UDP socket: retransmission (RFC 5389 7.2.1), matching of
 * responses to requests, and the checks that decide whether a response counts at all.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { HostError } from '../../../src/engine/contract.js';
import {
  AttributeType,
  attribute,
  type DecodedStunMessage,
  decodeMessage,
  encodeMessage,
  fingerprintMatches,
  integrityMatches,
  type StunMessage,
  StunMethod,
  unknownRequiredAttributes,
} from './stun.js';
import { decodeErrorCode } from './stun-attributes.js';

/** RFC 5389 7.2.1: RTO 500 ms doubling at each send, 7 sends, then a last wait of 16 RTO. */
const RTO_MS = 500;
const MAX_SENDS = 7;
const LAST_WAIT_RTO = 16;

export interface StunEndpoint {
  host: string;
  port: number;
  /** bind the client side here; tests use it to reuse a 5-tuple */
  localAddress?: string;
  localPort?: number;
  /** one line per finished transaction, e.g. "Refresh: 438 Stale nonce after 1 send in 2 ms" (for --verbose) */
  trace?: (line: string) => void;
}

interface Pending {
  method: number;
  key: Buffer | undefined;
  resolve(response: DecodedStunMessage): void;
  reject(error: HostError): void;
}

export class StunUdpClient {
  private readonly pending = new Map<string, Pending>();
  /** an ICMP port unreachable came back: nothing listens on that port (yet) */
  private refused = false;
  private lastError: string | undefined;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    /** host:port, for messages */
    readonly peer: string,
    private readonly trace: ((line: string) => void) | undefined,
  ) {
    socket.on('message', (datagram) => this.receive(datagram));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A connected UDP socket reports ICMP errors and stays usable; a TURN service that is still
      // restarting refuses the first sends, so keep retransmitting until the deadline.
      if (err.code === 'ECONNREFUSED') this.refused = true;
      else this.lastError = err.code ?? err.message;
    });
  }

  static async open(endpoint: StunEndpoint): Promise<StunUdpClient> {
    const peer = `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
    let resolved: { address: string; family: number };
    try {
      resolved = await lookup(endpoint.host);
    } catch (err) {
      throw new HostError('turn-unreachable', `TURN ${peer}: cannot resolve ${endpoint.host}`, {
        cause: err,
      });
    }
    const socket = createSocket(resolved.family === 6 ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        const connect = () => socket.connect(endpoint.port, resolved.address, resolve);
        if (endpoint.localAddress === undefined && endpoint.localPort === undefined) connect();
        else socket.bind({ address: endpoint.localAddress, port: endpoint.localPort ?? 0 }, connect);
      });
    } catch (err) {
      socket.close();
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new HostError('turn-unreachable', `TURN ${peer}: cannot open a UDP socket: ${code}`, {
        cause: err,
      });
    }
    socket.removeAllListeners('error');
    return new StunUdpClient(socket, peer, endpoint.trace);
  }

  /** the client side of the 5-tuple */
  localAddress(): { address: string; port: number } {
    const { address, port } = this.socket.address();
    return { address, port };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pending of this.pending.values()) {
      pending.reject(new HostError('turn-protocol', `TURN ${this.peer}: socket closed during a request`));
    }
    this.socket.close();
  }

  /**
   * Send a request until its response arrives, retransmitting per RFC 5389, and give up at
   * `deadline` (epoch ms). With `key`, the request carries MESSAGE-INTEGRITY and a success
   * response counts only if its MESSAGE-INTEGRITY matches: a forged success cannot pass a probe.
   */
  request(message: StunMessage, key: Buffer | undefined, deadline: number): Promise<DecodedStunMessage> {
    const datagram = encodeMessage(message, { integrityKey: key, fingerprint: true });
    const id = message.transactionId.toString('hex');
    return new Promise((resolve, reject) => {
      let sends = 0;
      let timer: NodeJS.Timeout | undefined;
      const started = Date.now();
      const finish = () => {
        clearTimeout(timer);
        this.pending.delete(id);
      };
      const send = () => {
        if (sends === MAX_SENDS || Date.now() >= deadline) {
          finish();
          const error = this.timeoutError(message, sends, Date.now() - started);
          this.trace?.(error.message);
          reject(error);
          return;
        }
        sends++;
        this.socket.send(datagram);
        const wait = sends === MAX_SENDS ? LAST_WAIT_RTO * RTO_MS : RTO_MS * 2 ** (sends - 1);
        timer = setTimeout(send, Math.max(0, Math.min(wait, deadline - Date.now())));
      };
      this.pending.set(id, {
        method: message.method,
        key,
        resolve: (response) => {
          finish();
          const took = `after ${sendCount(sends)} in ${Date.now() - started} ms`;
          this.trace?.(`${methodName(message.method)}: ${outcome(response)} ${took}`);
          resolve(response);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      });
      send();
    });
  }

  private receive(datagram: Buffer): void {
    let response: DecodedStunMessage;
    try {
      response = decodeMessage(datagram);
    } catch {
      return; // not STUN, or malformed: as if never received
    }
    const pending = this.pending.get(response.transactionId.toString('hex'));
    if (!pending || !acceptable(response, pending)) return;
    const unknown = unknownRequiredAttributes(response);
    if (unknown.length > 0) {
      // RFC 5389 7.3.3: the transaction has failed
      const types = unknown.map((t) => `0x${t.toString(16).padStart(4, '0')}`).join(', ');
      pending.reject(
        new HostError(
          'turn-protocol',
          `TURN ${this.peer}: response with unknown required attributes ${types}`,
        ),
      );
      return;
    }
    pending.resolve(response);
  }

  private timeoutError(message: StunMessage, sends: number, elapsedMs: number): HostError {
    const what = methodName(message.method);
    const why = this.refused
      ? 'ICMP port unreachable came back: nothing listens on that UDP port'
      : this.lastError
        ? `socket error ${this.lastError}`
        : 'no reply at all: is the TURN service running and the UDP port open on the way?';
    return new HostError(
      'turn-timeout',
      `TURN ${this.peer}: no response to ${what} after ${sendCount(sends)} in ${elapsedMs} ms (${why})`,
    );
  }
}

const METHOD_NAMES: Record<number, string> = {
  [StunMethod.binding]: 'Binding',
  [StunMethod.allocate]: 'Allocate',
  [StunMethod.refresh]: 'Refresh',
};
const methodName = (method: number) => METHOD_NAMES[method] ?? `method 0x${method.toString(16)}`;
const sendCount = (sends: number) => (sends === 1 ? '1 send' : `${sends} sends`);

function outcome(response: DecodedStunMessage): string {
  const value = attribute(response, AttributeType.errorCode);
  if (response.class !== 'error' || !value) return response.class;
  try {
    const { code, reason } = decodeErrorCode(value);
    return `${code} ${reason}`;
  } catch {
    return 'error';
  }
}

/** RFC 5389 7.3.3 and 10.2.3: what a client may take as the response to its request. */
function acceptable(response: DecodedStunMessage, pending: Pending): boolean {
  if (response.method !== pending.method) return false;
  if (response.class !== 'success' && response.class !== 'error') return false;
  if (response.fingerprintOffset !== undefined && !fingerprintMatches(response)) return false;
  if (!pending.key) return true;
  if (response.integrityOffset !== undefined) return integrityMatches(response, pending.key);
  // Error responses without MESSAGE-INTEGRITY are taken (401/438 challenges never carry one, and
  // a forged error can only fail a probe, which dropping packets does too); successes are not.
  return response.class === 'error';
}
