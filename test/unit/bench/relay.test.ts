/**
 * The bench's WAN relay (bench/delay-relay.ts) over loopback: every byte arrives half the RTT late
 * in each direction, a request-answer exchange counts as one round trip, and only loopback
 * addresses are accepted.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DelayRelay, startRelay } from '../../../bench/delay-relay.js';

const RTT_MS = 100;
let echo: Server;
let echoPort: number;
let relay: DelayRelay;
let relayPort: number;

beforeAll(async () => {
  echo = createServer((socket) => socket.on('data', (chunk) => socket.write(chunk)));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as { port: number }).port;
  // a free port for the relay: listen on 0, note it, close
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  relayPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  relay = await startRelay({
    delayMs: RTT_MS / 2,
    routes: [{ listen: '127.0.0.1', port: relayPort, target: '127.0.0.1', targetPort: echoPort }],
  });
});

afterAll(async () => {
  await relay.close();
  await new Promise((resolve) => echo.close(resolve));
});

/** Send `message`, resolve with the echo and the time it took. */
function exchange(socket: Socket, message: string): Promise<{ answer: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    socket.once('data', (chunk) => resolve({ answer: chunk.toString(), ms: performance.now() - started }));
    socket.write(message);
  });
}

describe('the WAN relay', () => {
  it('holds each direction for half the RTT and counts each exchange as a round trip', async () => {
    const socket = createConnection({ host: '127.0.0.1', port: relayPort });
    await new Promise((resolve) => socket.once('connect', resolve));
    for (const message of ['one', 'two', 'three']) {
      const { answer, ms } = await exchange(socket, message);
      expect(answer).toBe(message);
      expect(ms).toBeGreaterThanOrEqual(RTT_MS - 5); // timers may fire a little early
    }
    socket.end();
    await new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, RTT_MS)); // the relay's side closes too
    expect(relay.stats()).toEqual({ open: 0, targets: { '127.0.0.1': { connections: 1, roundTrips: 3 } } });
    expect(relay.stats().targets).toEqual({}); // counted once
  });

  it('refuses an address that is not loopback', async () => {
    await expect(
      startRelay({
        delayMs: 1,
        routes: [{ listen: '127.0.0.1', port: 0, target: '192.0.2.1', targetPort: 22 }],
      }),
    ).rejects.toThrow('loopback addresses only');
  });
});
