/**
 * Jump host (bastion) connections shared by a run: every appliance behind the same bastion gets a
 * `direct-tcpip` channel (ssh2 `forwardOut`) on ONE bastion connection, which closes when the last
 * appliance using it has closed, or at `shutdown()`.
 *
 *   const jumpHosts = new JumpHosts();
 *   const sessions = await Promise.all(appliances.map((a) => openSession(a, { ...options, jumpHosts })));
 *   ...
 *   await jumpHosts.shutdown();
 */
import type { ClientChannel } from 'ssh2';
import { ConnectError, type Connection } from './connect.js';
import type { Endpoint } from './settings.js';

export interface JumpHostStats {
  /** bastion connections opened */
  connections: number;
  /** channels forwarded to appliances */
  forwardedChannels: number;
}

interface Bastion {
  connection: Promise<Connection>;
  /** appliances holding a channel (or waiting for one) */
  users: number;
  closed: boolean;
}

export interface ForwardedChannel {
  channel: ClientChannel;
  /** `user@host:port` of the bastion, for messages */
  jumpHost: string;
  /** the appliance's connection is over: the bastion closes when nobody else uses it */
  release(): void;
}

const label = (endpoint: Endpoint) => `${endpoint.user}@${endpoint.host}:${endpoint.port}`;

export class JumpHosts {
  private readonly bastions = new Map<string, Bastion>();
  /** a bastion that could not be reached stays failed for the run: each appliance fails at once */
  private readonly failures = new Map<string, ConnectError>();
  private readonly closing = new Set<Promise<void>>();
  readonly stats: JumpHostStats = { connections: 0, forwardedChannels: 0 };

  /**
   * A channel from the bastion to `host:port`. The first request for a bastion connects with
   * `connect` (which verifies its host key and authenticates); the others wait for and share it.
   */
  async forward(
    jump: Endpoint,
    connect: () => Promise<Connection>,
    host: string,
    port: number,
  ): Promise<ForwardedChannel> {
    const key = label(jump);
    const failed = this.failures.get(key);
    if (failed) throw failed;
    let bastion = this.bastions.get(key);
    if (!bastion) {
      const connection = connect();
      const created: Bastion = { connection, users: 0, closed: false };
      bastion = created;
      this.bastions.set(key, created);
      this.stats.connections++;
      connection.then(
        ({ client }) =>
          client.once('close', () => {
            created.closed = true;
            if (this.bastions.get(key) === created) this.bastions.delete(key);
          }),
        (err: unknown) => {
          if (this.bastions.get(key) === created) this.bastions.delete(key);
          if (err instanceof ConnectError) this.failures.set(key, err);
        },
      );
    }
    const entry = bastion;
    entry.users++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.users--;
      if (entry.users === 0) this.close(key, entry);
    };
    try {
      const { client } = await entry.connection;
      const channel = await new Promise<ClientChannel>((resolve, reject) => {
        try {
          client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(err) : resolve(ch)));
        } catch (err) {
          reject(err);
        }
      });
      this.stats.forwardedChannels++;
      return { channel, jumpHost: key, release };
    } catch (err) {
      release();
      if (err instanceof ConnectError) throw err;
      const why = (err as Error).message.replace(/^\(SSH\) Channel open failure: /, '');
      throw new ConnectError('unreachable', `cannot connect to ${host}:${port} via jump host ${key}: ${why}`);
    }
  }

  private close(key: string, bastion: Bastion): void {
    if (this.bastions.get(key) === bastion) this.bastions.delete(key);
    const done = bastion.connection.then(
      ({ client }) =>
        new Promise<void>((resolve) => {
          if (bastion.closed) return resolve();
          client.once('close', () => resolve());
          client.end();
        }),
      () => {},
    );
    this.closing.add(done);
    void done.then(() => this.closing.delete(done));
  }

  /** Close every bastion connection (appliance connections through them end with them). */
  async shutdown(): Promise<void> {
    for (const [key, bastion] of [...this.bastions]) this.close(key, bastion);
    await Promise.all([...this.closing]);
  }
}
