/**
 * The WAN latency profile's relay, run as a child process of the bench (so it keeps forwarding
 * while the bench waits for a tool): for each appliance it listens on the appliance's loopback
 * address at another port and forwards to its sshd, holding every chunk for half the round-trip
 * time in each direction (this kernel has no netem). Loopback only, bounded in connections and in
 * bytes held per direction; it exits when the bench goes away.
 *
 * It also counts round trips per appliance: a client flight starts when the client sends after
 * the relay has delivered server bytes to it since its last send, i.e. the client had to wait a
 * round trip for what it sends next. `{ type: 'stats' }` over IPC answers with the counts since
 * the last question.
 *
 *   node dist/bench/delay-relay.js '{"delayMs":20,"routes":[{"listen":"127.0.20.1","port":2200,"target":"127.0.20.1","targetPort":22}]}'
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface RelayRoute {
  listen: string;
  port: number;
  target: string;
  targetPort: number;
}

export interface RelayConfig {
  /** one-way delay: half the round-trip time */
  delayMs: number;
  routes: RelayRoute[];
}

export interface TargetStats {
  connections: number;
  roundTrips: number;
}

export type RelayMessage =
  | { type: 'ready' }
  | { type: 'stats'; open: number; targets: Record<string, TargetStats> }
  | { type: 'error'; message: string };

const MAX_CONNECTIONS = 2048;
/** bytes held for delivery in one direction of one connection before its sender is paused */
const MAX_HELD_BYTES = 4 * 1024 * 1024;

const isLoopback = (address: string) => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);

/** Forward `from` to `to`, each chunk `delayMs` later, pausing `from` while too much is held. */
function delayedPipe(from: Socket, to: Socket, delayMs: number, delivered: () => void): void {
  let held = 0;
  from.on('data', (chunk: Buffer) => {
    held += chunk.length;
    if (held > MAX_HELD_BYTES) from.pause();
    setTimeout(() => {
      held -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      delivered();
      if (held <= MAX_HELD_BYTES && from.isPaused()) from.resume();
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
}

export interface DelayRelay {
  /** connections still open, and per target address the counts since the last call */
  stats(): { open: number; targets: Record<string, TargetStats> };
  close(): Promise<void>;
}

/** Listen on every route; resolves once all listen. */
export async function startRelay(config: RelayConfig): Promise<DelayRelay> {
  for (const route of config.routes) {
    if (!isLoopback(route.listen) || !isLoopback(route.target))
      throw new Error(`relay: ${route.listen} -> ${route.target}: loopback addresses only`);
  }
  let open = 0;
  const counts = new Map<string, TargetStats>();
  const countFor = (target: string) => {
    const c = counts.get(target) ?? { connections: 0, roundTrips: 0 };
    counts.set(target, c);
    return c;
  };
  const sockets = new Set<Socket>();
  const servers = config.routes.map((route) =>
    createServer({ noDelay: true }, (client) => {
      if (open >= MAX_CONNECTIONS) return client.destroy();
      open++;
      const stats = countFor(route.target);
      stats.connections++;
      // true once server bytes reached the client after its last send: its next send is a new flight
      let waited = true;
      const upstream = createConnection({ host: route.target, port: route.targetPort, noDelay: true });
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      }
      client.on('data', () => {
        if (waited) stats.roundTrips++;
        waited = false;
      });
      delayedPipe(client, upstream, config.delayMs, () => {});
      delayedPipe(upstream, client, config.delayMs, () => {
        waited = true;
      });
      let closed = 0;
      const onClose = () => {
        if (++closed === 2) open--;
      };
      client.on('close', onClose);
      upstream.on('close', onClose);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    }),
  );
  await Promise.all(
    servers.map(
      (server, i) =>
        new Promise<void>((resolve, reject) => {
          const route = config.routes[i]!;
          server.once('error', (err) =>
            reject(new Error(`relay ${route.listen}:${route.port}: ${err.message}`)),
          );
          server.listen(route.port, route.listen, resolve);
        }),
    ),
  );
  return {
    stats() {
      const targets = Object.fromEntries(counts);
      counts.clear();
      return { open, targets };
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

/** The bench's child process: start, say ready, answer `stats`, exit with the bench. */
async function main(config: RelayConfig): Promise<void> {
  const send = (message: RelayMessage) => process.send?.(message);
  try {
    const relay = await startRelay(config);
    process.on('message', (message: { type?: string }) => {
      if (message.type === 'stats') send({ type: 'stats', ...relay.stats() });
    });
    process.on('disconnect', () => process.exit(0));
    send({ type: 'ready' });
  } catch (err) {
    send({ type: 'error', message: (err as Error).message });
    process.exit(1);
  }
}

if (process.argv[1]?.endsWith('delay-relay.js'))
  void main(JSON.parse(process.argv[2] ?? '{}') as RelayConfig);
