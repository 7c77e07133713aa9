/**
 * A small TURN client for verification probes (it proves "a TURN Allocate with the new
 * credentials succeeds"): one UDP Allocate with long-term credentials (RFC 5766), released at
 * once, and a plain STUN Binding as a reachability probe.
 *
 *   const result = await turnAllocate({ host, port: 3478, username: 'pexip', password, timeoutMs: 5000 });
 *   if (result.outcome === 'success') console.log(`relayed at ${result.relayedAddress}:${result.relayedPort}`);
 *
 * Answers from the server are results; a server that cannot be reached or breaks the protocol is
 * a HostError (`turn-timeout`, `turn-unreachable`, `turn-protocol`). The password only feeds the
 * key: it is never logged, nor part of a result or an error.
 */
import { HostError } from '../../../src/engine/contract.js';
import {
  AttributeType,
  attribute,
  type DecodedStunMessage,
  longTermKey,
  newTransactionId,
  type StunAttribute,
  type StunMessage,
  StunMethod,
  textAttribute,
} from './stun.js';
import {
  decodeErrorCode,
  decodePlainAddress,
  decodeUint32,
  decodeXorAddress,
  type ErrorCode,
  requestedTransportUdp,
  type TransportAddress,
  text,
  uint32,
} from './stun-attributes.js';
import { type StunEndpoint, StunUdpClient } from './stun-udp.js';

const SOFTWARE = text(AttributeType.software, 'rpctl TURN probe');
/** Releasing is best effort (the allocation expires anyway): it must not double a probe's time. */
const RELEASE_BUDGET_MS = 2000;

export interface TurnAllocateOptions extends StunEndpoint {
  username: string;
  password: string;
  /** the realm the caller expects; the server's REALM is used either way, a difference is reported */
  realm?: string;
  /** budget for the Allocate exchange (challenge, retries, retransmissions); the release has 2 s more */
  timeoutMs: number;
}

interface RealmReport {
  /** the realm the server challenged with, which the key was made with ('' when it did not challenge) */
  realm: string;
  /** present when the caller's realm differs from the server's */
  realmMismatch?: { expected: string; server: string };
}

export interface AllocationGranted extends RealmReport {
  outcome: 'success';
  relayedAddress: string;
  relayedPort: number;
  /** the client's address as the server saw it (XOR-MAPPED-ADDRESS) */
  mappedAddress: string;
  mappedPort: number;
  /** seconds */
  lifetime: number;
  /** false when the server granted the allocation without asking for credentials */
  authenticated: boolean;
}

export type AllocationRefused =
  | ({ outcome: 'unauthorized' } & RealmReport)
  | ({ outcome: 'error'; code: number; reason: string } & Partial<RealmReport>);

export type TurnAllocateResult = (AllocationGranted & { released: boolean }) | AllocationRefused;

/** An allocation kept open for the caller, who must release it. */
export interface HeldAllocation {
  result: AllocationGranted | AllocationRefused;
  /** the client side of the 5-tuple */
  local: TransportAddress;
  /** Refresh with LIFETIME 0 and close the socket; true when the server confirmed (or nothing was held). */
  release(): Promise<boolean>;
}

/** Allocate a relayed address, then release it at once: a probe leaves nothing behind. */
export async function turnAllocate(options: TurnAllocateOptions): Promise<TurnAllocateResult> {
  const held = await holdTurnAllocation(options);
  const released = await held.release();
  return held.result.outcome === 'success' ? { ...held.result, released } : held.result;
}

/**
 * Allocate and keep the allocation until `release()` (tests use it to observe a live one).
 * Prefer turnAllocate.
 */
export async function holdTurnAllocation(options: TurnAllocateOptions): Promise<HeldAllocation> {
  const client = await StunUdpClient.open(options);
  const local = client.localAddress();
  const deadline = Date.now() + options.timeoutMs;
  const refused = (result: AllocationRefused): HeldAllocation => {
    client.close();
    return { result, local, release: async () => true };
  };
  try {
    // The first Allocate carries no credentials: the 401 brings the server's REALM and NONCE.
    let response = await client.request(allocateRequest([]), undefined, deadline);
    let session: Session = { client, username: '', realm: '', nonce: '', key: undefined };
    if (response.class === 'error') {
      const error = errorOf(client, response);
      const challenge = challengeOf(response);
      if (error.code !== 401 || !challenge) return refused({ outcome: 'error', ...error });
      const key = longTermKey(options.username, challenge.realm, options.password);
      session = { client, username: options.username, ...challenge, key };
      response = await sessionRequest(session, allocateRequest, deadline);
    }
    const realm = session.key ? realmReport(session.realm, options.realm) : undefined;
    if (response.class === 'error') {
      const error = errorOf(client, response);
      if (error.code === 401 && realm) return refused({ outcome: 'unauthorized', ...realm });
      return refused({ outcome: 'error', ...error, ...realm });
    }
    try {
      return { result: granted(client, response, realm), local, release: () => release(session) };
    } catch (err) {
      await release(session); // granted, but unreadable: do not leave it behind
      throw err;
    }
  } catch (err) {
    client.close();
    throw err;
  }
}

/**
 * The hex MD5 of "username:realm:password": the long-term key coturn stores in
 * turnusers_lt.hmackey (`turnadmin -a`), so a recipe can tell whether credentials changed.
 */
export function turnKey(username: string, realm: string, password: string): string {
  return longTermKey(username, realm, password).toString('hex');
}

/** The mapped address of a plain Binding request: is a STUN/TURN server answering there? */
export async function stunBinding(options: StunEndpoint & { timeoutMs?: number }): Promise<TransportAddress> {
  const client = await StunUdpClient.open(options);
  try {
    const request = {
      method: StunMethod.binding,
      class: 'request' as const,
      transactionId: newTransactionId(),
      attributes: [SOFTWARE],
    };
    const response = await client.request(request, undefined, Date.now() + (options.timeoutMs ?? 5000));
    if (response.class === 'error') {
      const { code, reason } = errorOf(client, response);
      throw new HostError('turn-protocol', `TURN ${client.peer}: Binding refused: ${code} ${reason}`);
    }
    return mappedAddressOf(client, response);
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------------------------

/** Credentials as a session carries them between requests; the key stands in for the password. */
interface Session {
  client: StunUdpClient;
  username: string;
  realm: string;
  nonce: string;
  /** undefined when the server granted the allocation without asking for credentials */
  key: Buffer | undefined;
}

type RequestBuilder = (credentials: StunAttribute[]) => StunMessage;

const allocateRequest: RequestBuilder = (credentials) => ({
  method: StunMethod.allocate,
  class: 'request',
  transactionId: newTransactionId(),
  attributes: [requestedTransportUdp(), SOFTWARE, ...credentials],
});

const releaseRequest: RequestBuilder = (credentials) => ({
  method: StunMethod.refresh,
  class: 'request',
  transactionId: newTransactionId(),
  attributes: [uint32(AttributeType.lifetime, 0), SOFTWARE, ...credentials],
});

/** Send with the session's credentials; after a 438 Stale Nonce, once more with the new nonce. */
async function sessionRequest(
  session: Session,
  build: RequestBuilder,
  deadline: number,
): Promise<DecodedStunMessage> {
  for (let attempt = 1; ; attempt++) {
    const credentials = session.key
      ? [
          text(AttributeType.username, session.username),
          text(AttributeType.realm, session.realm),
          text(AttributeType.nonce, session.nonce),
        ]
      : [];
    const response = await session.client.request(build(credentials), session.key, deadline);
    const challenge = challengeOf(response);
    const stale = response.class === 'error' && errorOf(session.client, response).code === 438;
    if (attempt > 1 || !stale || !challenge) return response;
    // Only the nonce changes: the key was made with the realm and the password is not kept.
    session.nonce = challenge.nonce;
  }
}

/** Refresh with LIFETIME 0 and close the socket. */
async function release(session: Session): Promise<boolean> {
  try {
    const response = await sessionRequest(session, releaseRequest, Date.now() + RELEASE_BUDGET_MS);
    // 437 Allocation Mismatch: there is no allocation (any more) on this 5-tuple.
    return response.class === 'success' || errorOf(session.client, response).code === 437;
  } catch {
    return false; // it expires after its lifetime
  } finally {
    session.client.close();
  }
}

function realmReport(serverRealm: string, expected: string | undefined): RealmReport {
  return expected === undefined || expected === serverRealm
    ? { realm: serverRealm }
    : { realm: serverRealm, realmMismatch: { expected, server: serverRealm } };
}

function protocolError(client: StunUdpClient, problem: string): HostError {
  return new HostError('turn-protocol', `TURN ${client.peer}: ${problem}`);
}

function errorOf(client: StunUdpClient, response: DecodedStunMessage): ErrorCode {
  const value = attribute(response, AttributeType.errorCode);
  if (!value) throw protocolError(client, 'error response without ERROR-CODE');
  return decoded(client, 'ERROR-CODE', () => decodeErrorCode(value));
}

function challengeOf(response: DecodedStunMessage): { realm: string; nonce: string } | undefined {
  const realm = textAttribute(response, AttributeType.realm);
  const nonce = textAttribute(response, AttributeType.nonce);
  return realm !== undefined && nonce !== undefined ? { realm, nonce } : undefined;
}

function decoded<T>(client: StunUdpClient, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw protocolError(client, `malformed ${what}: ${(err as Error).message}`);
  }
}

function required(client: StunUdpClient, response: DecodedStunMessage, type: number, name: string): Buffer {
  const value = attribute(response, type);
  if (!value) throw protocolError(client, `response without ${name}`);
  return value;
}

function mappedAddressOf(client: StunUdpClient, response: DecodedStunMessage): TransportAddress {
  const xorMapped = attribute(response, AttributeType.xorMappedAddress);
  if (xorMapped)
    return decoded(client, 'XOR-MAPPED-ADDRESS', () => decodeXorAddress(xorMapped, response.transactionId));
  // RFC 3489 servers only know MAPPED-ADDRESS
  const mapped = required(client, response, AttributeType.mappedAddress, 'XOR-MAPPED-ADDRESS');
  return decoded(client, 'MAPPED-ADDRESS', () => decodePlainAddress(mapped));
}

function granted(
  client: StunUdpClient,
  response: DecodedStunMessage,
  realm: RealmReport | undefined,
): AllocationGranted {
  const relayedValue = required(client, response, AttributeType.xorRelayedAddress, 'XOR-RELAYED-ADDRESS');
  const relayed = decoded(client, 'XOR-RELAYED-ADDRESS', () =>
    decodeXorAddress(relayedValue, response.transactionId),
  );
  const mapped = mappedAddressOf(client, response);
  const lifetimeValue = required(client, response, AttributeType.lifetime, 'LIFETIME');
  return {
    outcome: 'success',
    relayedAddress: relayed.address,
    relayedPort: relayed.port,
    mappedAddress: mapped.address,
    mappedPort: mapped.port,
    lifetime: decoded(client, 'LIFETIME', () => decodeUint32(lifetimeValue)),
    realm: realm?.realm ?? '',
    ...(realm?.realmMismatch ? { realmMismatch: realm.realmMismatch } : {}),
    authenticated: realm !== undefined,
  };
}
