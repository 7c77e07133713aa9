/**
 * The WAN latency profile: every appliance reached through the delay relay (delay-relay.ts) at
 * PREFIX.N:RELAY_PORT, a known_hosts file naming the appliances at that port, and the round trips
 * each appliance's connections took during a tool's run.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientFiles, type LabConfig, type LabState } from '../test/lab/lab.js';
import type { RelayConfig, RelayMessage, TargetStats } from './delay-relay.js';

/** Where the tools reach each appliance's sshd: directly, or through the relay. */
export interface Route {
  /** appliance name -> address and port to connect to */
  endpoint(name: string): { address: string; port: number };
  knownHosts: string;
}

export const RELAY_PORT = 2200;

export function directRoute(cfg: LabConfig, state: LabState): Route {
  const byName = new Map(state.appliances.map((a) => [a.name, a.address]));
  return {
    endpoint: (name) => ({ address: byName.get(name)!, port: 22 }),
    knownHosts: clientFiles(cfg).knownHosts,
  };
}

export class WanRelay {
  private constructor(
    private readonly child: ChildProcess,
    readonly route: Route,
  ) {}

  /** Start the relay for every appliance of the lab, `rttMs` round-trip time. */
  static async start(cfg: LabConfig, state: LabState, rttMs: number): Promise<WanRelay> {
    const config: RelayConfig = {
      delayMs: rttMs / 2,
      routes: state.appliances.map((a) => ({
        listen: a.address,
        port: RELAY_PORT,
        target: a.address,
        targetPort: 22,
      })),
    };
    const script = join(cfg.repoRoot, 'dist', 'bench', 'delay-relay.js');
    const child = fork(script, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m: RelayMessage) =>
        m.type === 'ready' ? resolve() : reject(new Error(m.type === 'error' ? m.message : 'relay failed')),
      );
      child.once('exit', (code) => reject(new Error(`relay exited (${code}) before it was ready`)));
    });
    const knownHosts = join(cfg.labDir, 'known_hosts.relay');
    const addresses = new Set(state.appliances.map((a) => a.address));
    writeFileSync(
      knownHosts,
      readFileSync(clientFiles(cfg).knownHosts, 'utf8').replace(/^(\S+) /gm, (all, host: string) =>
        addresses.has(host) ? `[${host}]:${RELAY_PORT} ` : all,
      ),
    );
    const byName = new Map(state.appliances.map((a) => [a.name, a.address]));
    return new WanRelay(child, {
      endpoint: (name) => ({ address: byName.get(name)!, port: RELAY_PORT }),
      knownHosts,
    });
  }

  /**
   * Connections and round trips per appliance address since the last call. Waits (up to 10 s) for
   * the relayed connections to close: a tool's last close may still be on its way.
   */
  async roundTrips(): Promise<Record<string, TargetStats>> {
    const total: Record<string, TargetStats> = {};
    for (let i = 0; i < 100; i++) {
      const stats = await new Promise<Extract<RelayMessage, { type: 'stats' }>>((resolve) => {
        this.child.once('message', resolve);
        this.child.send({ type: 'stats' });
      });
      for (const [target, s] of Object.entries(stats.targets)) {
        const sum = total[target] ?? { connections: 0, roundTrips: 0 };
        total[target] = {
          connections: sum.connections + s.connections,
          roundTrips: sum.roundTrips + s.roundTrips,
        };
      }
      if (stats.open === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return total;
  }

  stop(): void {
    this.child.kill();
  }
}
