/**
 * The TURN client against real coturn in the lab appliances (v4: rfc5766-turn-server, v7:
 * coturn): allocation, wrong credentials, external-ip, stale nonces, release, timeouts.
 * Appliances whose turnserver.conf a test changes are reset at the end.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import {
  holdTurnAllocation,
  stunBinding,
  type TurnAllocateOptions,
  type TurnAllocateResult,
  turnAllocate,
  turnKey,
} from '../../recipes/turn/client/turn-client.js';
import { HostError } from '../../src/errors.js';
import { turnService } from './files.js';
import { clientFiles, DOMAIN, labConfig, labSh, readState, reset, spec, TURN_USER } from './lab.js';

const cfg = labConfig();
const names = (readState(cfg)?.appliances ?? []).map((a) => a.name);
const byGeneration = (generation: 'v4' | 'v7') => names.filter((n) => spec(n).generation === generation);
const [v4a, v4b] = byGeneration('v4') as [string, string];
const [v7a, v7b] = byGeneration('v7') as [string, string];
/** the client side of every probe: an address of this lab's block, so mapped addresses are known */
const CLIENT = `${cfg.prefix}.250`;
const EXTERNAL_IP = '203.0.113.77'; // documentation address: only written into configs

const changed = new Set<string>();
afterAll(async () => {
  if (changed.size > 0) await reset([...changed]);
}, 300_000);

function probeOptions(name: string, extra: Partial<TurnAllocateOptions> = {}): TurnAllocateOptions {
  return {
    host: spec(name).address,
    port: 3478,
    username: TURN_USER,
    password: clientFiles(cfg).turnPassword(),
    realm: DOMAIN,
    timeoutMs: 5000,
    localAddress: CLIENT,
    ...extra,
  };
}

/** Change turnserver.conf with a shell edit and restart the appliance's TURN service. */
function reconfigureTurn(name: string, edit: string): void {
  changed.add(name);
  // Lab quirk: coturn deletes /run/turnserver.pid on exit and, running as turnserver, cannot
  // create it again in root's /run, so every restart after the first waits 30 s for a KILL.
  // Writing the pidfile first keeps each restart at ~50 ms.
  const pidfile = 'pgrep -x turnserver > /run/turnserver.pid';
  const restart = `service ${turnService(spec(name).generation)} restart >/dev/null`;
  labSh(name, `${edit} && { ${pidfile}; ${restart}; }`);
}

/** Is a UDP socket bound at address:port? The appliances share the host's network namespace. */
function udpBound(address: string, port: number): boolean {
  return (
    spawnSync('ss', ['-Hun', 'state', 'all', 'src', `${address}:${port}`], {
      encoding: 'utf8',
    }).stdout.trim() !== ''
  );
}

async function freeUdpPort(address: string): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** ms from `since` until `check` passes, or undefined after timeoutMs */
async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  since = performance.now(),
): Promise<number | undefined> {
  while (performance.now() - since < timeoutMs) {
    if (await check()) return performance.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

describe('TURN client against coturn', () => {
  it('allocates on v4 and v7 appliances, relayed at the relay-ip, and releases', async () => {
    const latencies: string[] = [];
    for (const name of names) {
      const { address } = spec(name);
      expect(labSh(name, 'grep ^relay-ip= /etc/turnserver.conf').trim()).toBe(`relay-ip=${address}`);
      expect(await stunBinding({ host: address, port: 3478, localAddress: CLIENT })).toMatchObject({
        address: CLIENT,
      });
      const started = performance.now();
      const result = await turnAllocate(probeOptions(name));
      const ms = performance.now() - started;
      expect(result).toMatchObject({
        outcome: 'success',
        relayedAddress: address,
        mappedAddress: CLIENT,
        lifetime: 600,
        realm: DOMAIN,
        authenticated: true,
        released: true,
      });
      latencies.push(`${name} (${spec(name).generation}) ${ms.toFixed(1)} ms`);
      expect(ms).toBeLessThan(1000);
    }
    console.log(`allocate + release (3 round trips): ${latencies.join(', ')}`);
  });

  it('turnKey is the key coturn stored for the lab user', () => {
    const key = turnKey(TURN_USER, DOMAIN, clientFiles(cfg).turnPassword());
    for (const name of [v4a, v7a]) {
      const query = `select hmackey from turnusers_lt where name='${TURN_USER}' and realm='${DOMAIN}'`;
      expect(labSh(name, `sqlite3 -readonly /etc/turnuserdb.conf "${query}"`).trim()).toBe(key);
    }
  });

  it('reports a wrong password as unauthorized, and a realm other than the server’s', async () => {
    for (const name of [v4a, v7a]) {
      expect(await turnAllocate(probeOptions(name, { password: 'not-the-password' }))).toEqual({
        outcome: 'unauthorized',
        realm: DOMAIN,
      });
      expect(await turnAllocate(probeOptions(name, { realm: 'other.example.com' }))).toMatchObject({
        outcome: 'success',
        realmMismatch: { expected: 'other.example.com', server: DOMAIN },
      });
    }
  });

  it('leaves nothing behind: the relay socket closes and the same 5-tuple can allocate again', async () => {
    const localPort = await freeUdpPort(CLIENT);
    const options = probeOptions(v7a, { localPort });
    const held = await holdTurnAllocation(options);
    if (held.result.outcome !== 'success') throw new Error(`no allocation: ${JSON.stringify(held.result)}`);
    const relay = { address: held.result.relayedAddress, port: held.result.relayedPort };
    // Without a release coturn keeps the allocation (for its 600 s lifetime).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(udpBound(relay.address, relay.port)).toBe(true);
    expect(await held.release()).toBe(true);
    const releasedAt = performance.now();
    // coturn frees a released allocation on its next one-second timer tick, not at once; until
    // then the same 5-tuple gets 437 Allocation Mismatch.
    const closedAfter = await until(() => !udpBound(relay.address, relay.port), 3000, releasedAt);
    expect(closedAfter).toBeDefined();
    let again: TurnAllocateResult | undefined;
    const allocatedAfter = await until(
      async () => {
        again = await turnAllocate(options);
        return again.outcome === 'success';
      },
      3000,
      releasedAt,
    );
    expect(again).toMatchObject({ outcome: 'success', mappedPort: localPort, released: true });
    console.log(
      `released allocation: relay socket closed after ${closedAfter?.toFixed(0)} ms, ` +
        `same 5-tuple allocated again after ${allocatedAfter?.toFixed(0)} ms`,
    );
  });

  it('reports external-ip as the relayed address on v4 and v7, right after a restart', async () => {
    for (const name of [v4b, v7b]) {
      reconfigureTurn(name, `echo external-ip=${EXTERNAL_IP} >> /etc/turnserver.conf`);
      const trace: string[] = [];
      const held = await holdTurnAllocation(probeOptions(name, { trace: (line) => trace.push(line) }));
      expect(held.result).toMatchObject({ outcome: 'success', relayedAddress: EXTERNAL_IP });
      // the relay socket itself stays on relay-ip: external-ip is only what coturn advertises
      if (held.result.outcome === 'success')
        expect(udpBound(spec(name).address, held.result.relayedPort)).toBe(true);
      expect(await held.release()).toBe(true);
      console.log(`${name} right after a TURN restart: ${trace.join('; ')}`);
    }
  });

  it('maps external-ip=PUBLIC/PRIVATE only when PRIVATE is the relay-ip', async () => {
    const relayIp = spec(v7b).address;
    const withExternalIp = async (value: string) => {
      reconfigureTurn(
        v7b,
        `sed -i '/^external-ip=/d' /etc/turnserver.conf && echo external-ip=${value} >> /etc/turnserver.conf`,
      );
      const result = await turnAllocate(probeOptions(v7b));
      return result.outcome === 'success' ? result.relayedAddress : result.outcome;
    };
    expect(await withExternalIp(`${EXTERNAL_IP}/${relayIp}`)).toBe(EXTERNAL_IP);
    expect(await withExternalIp(`${EXTERNAL_IP}/10.0.0.1`)).toBe(relayIp);
  });

  it('retries a release met by 438 Stale Nonce with the new nonce', async () => {
    reconfigureTurn(v4a, "sed -i 's/^stale-nonce$/stale-nonce=1/' /etc/turnserver.conf");
    const trace: string[] = [];
    const held = await holdTurnAllocation(probeOptions(v4a, { trace: (line) => trace.push(line) }));
    expect(held.result.outcome).toBe('success');
    await new Promise((resolve) => setTimeout(resolve, 2500)); // the nonce lives 1 s
    expect(await held.release()).toBe(true);
    expect(trace.slice(-2)).toEqual([
      expect.stringMatching(/^Refresh: 438 Stale nonce/i),
      expect.stringMatching(/^Refresh: success/),
    ]);
  });

  it('times out with a clear reason when nothing answers', async () => {
    const timeoutMs = 1500;
    const nobody = `${cfg.prefix}.200`; // no appliance there: the kernel answers ICMP port unreachable
    let started = performance.now();
    const refused = turnAllocate({ ...probeOptions(v4a), host: nobody, timeoutMs });
    await expect(refused).rejects.toBeInstanceOf(HostError);
    await expect(refused).rejects.toMatchObject({
      reason: 'turn-timeout',
      message: expect.stringMatching(
        new RegExp(
          `^TURN ${nobody.replaceAll('.', '\\.')}:3478: no response to Allocate after 2 sends in 15\\d\\d ms \\(ICMP port unreachable came back: nothing listens on that UDP port\\)$`,
        ),
      ),
    });
    expect(performance.now() - started).toBeLessThan(timeoutMs + 300);

    // a firewall that drops silently: a socket that never answers
    const blackHole = createSocket('udp4');
    await new Promise<void>((resolve) => blackHole.bind(0, `${cfg.prefix}.251`, resolve));
    try {
      started = performance.now();
      const silent = stunBinding({ host: `${cfg.prefix}.251`, port: blackHole.address().port, timeoutMs });
      await expect(silent).rejects.toMatchObject({
        reason: 'turn-timeout',
        message: expect.stringContaining('no response to Binding after 2 sends in 15'),
      });
      await expect(silent).rejects.toThrow('no reply at all: is the TURN service running');
      expect(performance.now() - started).toBeLessThan(timeoutMs + 300);
    } finally {
      blackHole.close();
    }
  });
});
