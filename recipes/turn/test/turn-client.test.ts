/**
 * The TURN client's protocol logic against a scripted in-process server on 127.0.0.1 (no lab):
 * challenge, stale nonce, retransmission, forged responses, timeouts, release. The lab test
 * (test/lab/turn-client.test.ts) runs the same client against real coturn.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { HostError } from '../../../src/errors.js';
import {
  AttributeType,
  attribute,
  type DecodedStunMessage,
  decodeMessage,
  encodeMessage,
  fingerprintMatches,
  integrityMatches,
  longTermKey,
  type StunAttribute,
  type StunClass,
  StunMethod,
  textAttribute,
} from '../client/stun.js';
import { decodeUint32, errorCode, text, uint32, xorAddress } from '../client/stun-attributes.js';
import { stunBinding, type TurnAllocateOptions, turnAllocate } from '../client/turn-client.js';

const REALM = 'example.org';
const PASSWORD = 'correct horse battery staple';
const KEY = longTermKey('pexip', REALM, PASSWORD);
const RELAYED = { address: '192.0.2.15', port: 50000 };

interface Received {
  message: DecodedStunMessage;
  at: number;
}

interface ServerScript {
  /** answer 438 Stale Nonce (with a new nonce) to this authenticated request */
  stale?: (request: DecodedStunMessage) => boolean;
  /** drop the Nth request (0-based) instead of answering it */
  drop?: (index: number, request: DecodedStunMessage) => boolean;
  /** datagrams sent before the real answer (forgeries) */
  before?: (request: DecodedStunMessage) => Buffer[];
  /** replace the answer to an authenticated Allocate */
  allocateAnswer?: (request: DecodedStunMessage) => Buffer;
  /** grant without asking for credentials (a server without lt-cred-mech) */
  open?: boolean;
}

function reply(
  request: DecodedStunMessage,
  cls: StunClass,
  attributes: StunAttribute[],
  key?: Buffer,
): Buffer {
  const message = { method: request.method, class: cls, transactionId: request.transactionId, attributes };
  return encodeMessage(message, { integrityKey: key, fingerprint: true });
}

/** Enough of a TURN server (long-term credentials, like coturn) to drive the client. */
class FakeTurnServer {
  readonly received: Received[] = [];
  private nonce = 1;

  private constructor(
    private readonly socket: Socket,
    private readonly script: ServerScript,
  ) {
    socket.on('message', (datagram, from) => {
      const message = decodeMessage(datagram);
      const index = this.received.push({ message, at: Date.now() }) - 1;
      if (script.drop?.(index, message)) return;
      for (const datagram of [...(script.before?.(message) ?? []), this.answer(message, from)]) {
        socket.send(datagram, from.port, from.address);
      }
    });
  }

  static async start(script: ServerScript = {}): Promise<FakeTurnServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new FakeTurnServer(socket, script);
  }

  get port(): number {
    return this.socket.address().port;
  }

  close(): void {
    this.socket.close();
  }

  private challenge(request: DecodedStunMessage, code: number, reason: string): Buffer {
    const nonce = `nonce-${this.nonce}`;
    return reply(request, 'error', [
      errorCode({ code, reason }),
      text(AttributeType.realm, REALM),
      text(AttributeType.nonce, nonce),
    ]);
  }

  private answer(request: DecodedStunMessage, from: { address: string; port: number }): Buffer {
    const mapped = xorAddress(AttributeType.xorMappedAddress, from, request.transactionId);
    if (request.method === StunMethod.binding) return reply(request, 'success', [mapped]);
    if (this.script.open) return this.granted(request, mapped);
    if (!attribute(request, AttributeType.username)) return this.challenge(request, 401, 'Unauthorized');
    if (
      textAttribute(request, AttributeType.nonce) !== `nonce-${this.nonce}` ||
      this.script.stale?.(request)
    ) {
      this.nonce++;
      return this.challenge(request, 438, 'Stale Nonce');
    }
    if (!integrityMatches(request, KEY)) return this.challenge(request, 401, 'Unauthorized');
    if (this.script.allocateAnswer && request.method === StunMethod.allocate) {
      return this.script.allocateAnswer(request);
    }
    return this.granted(request, mapped, KEY);
  }

  private granted(request: DecodedStunMessage, mapped: StunAttribute, key?: Buffer): Buffer {
    if (request.method === StunMethod.refresh) return reply(request, 'success', [], key);
    const relayed = xorAddress(AttributeType.xorRelayedAddress, RELAYED, request.transactionId);
    return reply(request, 'success', [relayed, mapped, uint32(AttributeType.lifetime, 600)], key);
  }
}

/** true for the first `count` calls (that pass `filter`) */
function firstTimes(count: number, filter: (request: DecodedStunMessage) => boolean = () => true) {
  let left = count;
  return (request: DecodedStunMessage) => filter(request) && left-- > 0;
}

let server: FakeTurnServer | undefined;
afterEach(() => server?.close());

async function allocateWith(script: ServerScript, options: Partial<TurnAllocateOptions> = {}) {
  server = await FakeTurnServer.start(script);
  const trace: string[] = [];
  const result = await turnAllocate({
    host: '127.0.0.1',
    port: server.port,
    username: 'pexip',
    password: PASSWORD,
    timeoutMs: 3000,
    trace: (line) => trace.push(line),
    ...options,
  });
  const methods = server.received.map(({ message }) => message.method);
  return { result, trace, methods, received: server.received.map((r) => r.message) };
}

describe('turnAllocate', () => {
  it('answers the 401 challenge with long-term credentials, allocates, then releases', async () => {
    const { result, methods, received } = await allocateWith({});
    expect(result).toMatchObject({
      outcome: 'success',
      relayedAddress: '192.0.2.15',
      relayedPort: 50000,
      mappedAddress: '127.0.0.1',
      lifetime: 600,
      realm: REALM,
      authenticated: true,
      released: true,
    });
    expect(result).not.toHaveProperty('realmMismatch');
    expect(methods).toEqual([StunMethod.allocate, StunMethod.allocate, StunMethod.refresh]);
    const [first, second, release] = received as [DecodedStunMessage, DecodedStunMessage, DecodedStunMessage];
    expect(attribute(first, AttributeType.username)).toBeUndefined();
    expect(attribute(second, AttributeType.requestedTransport)).toEqual(Buffer.from([17, 0, 0, 0]));
    expect(textAttribute(second, AttributeType.username)).toBe('pexip');
    expect(textAttribute(second, AttributeType.realm)).toBe(REALM);
    expect(integrityMatches(second, KEY)).toBe(true);
    expect(fingerprintMatches(second)).toBe(true);
    expect(decodeUint32(attribute(release, AttributeType.lifetime)!)).toBe(0);
    expect(integrityMatches(release, KEY)).toBe(true);
  });

  it("keys with the server's realm and reports a different expected one", async () => {
    const { result } = await allocateWith({}, { realm: 'other.example' });
    expect(result).toMatchObject({
      outcome: 'success',
      realm: REALM,
      realmMismatch: { expected: 'other.example', server: REALM },
    });
  });

  it('reports a wrong password as unauthorized and sends no Refresh', async () => {
    const { result, methods } = await allocateWith({}, { password: 'wrong' });
    expect(result).toEqual({ outcome: 'unauthorized', realm: REALM });
    expect(methods).toEqual([StunMethod.allocate, StunMethod.allocate]);
  });

  it('retries once after 438 Stale Nonce with the new nonce, and gives up after a second one', async () => {
    const once = await allocateWith({ stale: firstTimes(1) });
    expect(once.result.outcome).toBe('success');
    expect(once.received.slice(1, 3).map((m) => textAttribute(m, AttributeType.nonce))).toEqual([
      'nonce-1',
      'nonce-2',
    ]);
    server?.close();
    const twice = await allocateWith({ stale: firstTimes(2) });
    expect(twice.result).toEqual({ outcome: 'error', code: 438, reason: 'Stale Nonce', realm: REALM });
  });

  it('retries the release after a 438 too', async () => {
    const { result, trace } = await allocateWith({
      stale: firstTimes(1, (request) => request.method === StunMethod.refresh),
    });
    expect(result).toMatchObject({ outcome: 'success', released: true });
    expect(trace.slice(-2)).toEqual([
      expect.stringMatching(/^Refresh: 438 Stale Nonce after 1 send in/),
      expect.stringMatching(/^Refresh: success after 1 send in/),
    ]);
  });

  it('ignores forged or mismatched answers: no MESSAGE-INTEGRITY, a wrong one, another transaction', async () => {
    const forged = (request: DecodedStunMessage) => {
      if (request.method !== StunMethod.allocate || !attribute(request, AttributeType.username)) return [];
      const fake = { address: '198.51.100.1', port: 1 };
      const relayed = xorAddress(AttributeType.xorRelayedAddress, fake, request.transactionId);
      const attrs = [relayed, uint32(AttributeType.lifetime, 600)];
      const otherTransaction = { ...request, transactionId: Buffer.alloc(12, 7) };
      return [
        reply(request, 'success', attrs),
        reply(request, 'success', attrs, longTermKey('pexip', REALM, 'guess')),
        reply(otherTransaction, 'success', attrs, KEY),
        Buffer.from('not STUN at all'),
      ];
    };
    const { result } = await allocateWith({ before: forged });
    expect(result).toMatchObject({ outcome: 'success', relayedAddress: '192.0.2.15' });
  });

  it('retransmits after 500 ms, then 1 s (RFC 5389 RTO doubling)', async () => {
    const { result } = await allocateWith({ drop: (index) => index < 2 });
    expect(result.outcome).toBe('success');
    const [a, b, c] = server!.received.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(450);
    expect(b - a).toBeLessThan(700);
    expect(c - b).toBeGreaterThanOrEqual(950);
    expect(c - b).toBeLessThan(1250);
  });

  it('times out with a clear one-line reason when nothing answers', async () => {
    server = await FakeTurnServer.start({ drop: () => true });
    const started = Date.now();
    const probe = turnAllocate({
      host: '127.0.0.1',
      port: server.port,
      username: 'pexip',
      password: PASSWORD,
      timeoutMs: 1200,
    });
    await expect(probe).rejects.toThrow(HostError);
    await expect(probe).rejects.toMatchObject({
      reason: 'turn-timeout',
      message: expect.stringMatching(
        /^TURN 127\.0\.0\.1:\d+: no response to Allocate after 2 sends in 1\d\d\d ms \(no reply at all: is the TURN service running and the UDP port open on the way\?\)$/,
      ),
    });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('returns other error responses as they are', async () => {
    const quota = (request: DecodedStunMessage) =>
      reply(request, 'error', [errorCode({ code: 486, reason: 'Allocation Quota Reached' })], KEY);
    const { result } = await allocateWith({ allocateAnswer: quota });
    expect(result).toEqual({ outcome: 'error', code: 486, reason: 'Allocation Quota Reached', realm: REALM });
  });

  it('fails the probe on a success carrying an unknown comprehension-required attribute', async () => {
    const strange = (request: DecodedStunMessage) => reply(request, 'success', [text(0x0042, '?')], KEY);
    await expect(allocateWith({ allocateAnswer: strange })).rejects.toMatchObject({
      reason: 'turn-protocol',
      message: expect.stringContaining('unknown required attributes 0x0042'),
    });
  });

  it('says so when the server grants an allocation without asking for credentials', async () => {
    const { result, received } = await allocateWith({ open: true });
    expect(result).toMatchObject({ outcome: 'success', authenticated: false, realm: '', released: true });
    expect(received.map((m) => m.method)).toEqual([StunMethod.allocate, StunMethod.refresh]);
    expect(received.every((m) => m.integrityOffset === undefined)).toBe(true);
  });

  it('releases an allocation it cannot read before failing the probe', async () => {
    const withoutRelayed = (request: DecodedStunMessage) =>
      reply(request, 'success', [uint32(AttributeType.lifetime, 600)], KEY);
    await expect(allocateWith({ allocateAnswer: withoutRelayed })).rejects.toThrow(
      /: response without XOR-RELAYED-ADDRESS$/,
    );
    expect(server!.received.at(-1)?.message.method).toBe(StunMethod.refresh);
  });

  it('never puts the password into a result, an error or a trace line', async () => {
    const seen: string[] = [];
    for (const [script, password] of [
      [{}, PASSWORD],
      [{ stale: firstTimes(2) }, PASSWORD],
      [{}, `${PASSWORD}!`],
    ] as const) {
      const { result, trace } = await allocateWith(script, { password });
      seen.push(JSON.stringify(result), ...trace);
      server?.close();
    }
    server = await FakeTurnServer.start({ drop: () => true });
    const options = {
      host: '127.0.0.1',
      port: server.port,
      username: 'pexip',
      password: PASSWORD,
      timeoutMs: 600,
    };
    const error = (await turnAllocate(options).catch((err: unknown) => err)) as HostError;
    seen.push(error.message, String(error.detail), String(error.stack));
    expect(seen.length).toBeGreaterThan(8);
    for (const line of seen) expect(line).not.toContain(PASSWORD);
  });
});

describe('stunBinding', () => {
  it("returns the client's address as the server saw it", async () => {
    server = await FakeTurnServer.start();
    const mapped = await stunBinding({ host: '127.0.0.1', port: server.port, localPort: 0 });
    expect(mapped.address).toBe('127.0.0.1');
    expect(mapped.port).toBeGreaterThan(0);
  });
});
