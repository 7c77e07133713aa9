/**
 * What the TURN lab tests observe on and around an appliance: allocations from this lab's client
 * address, turnadmin runs (each leaves /var/log/turn_PID_DATE.log), the TURN process, and the
 * command lines of local processes while rpctl runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type TurnAllocateResult, turnAllocate } from '../../recipes/turn/client/turn-client.js';
import { DOMAIN, labConfig, labSh, spec, TURN_USER } from './lab.js';

/** the client side of every probe: an address of this lab's block */
export const CLIENT = `${labConfig().prefix}.250`;

export function allocate(name: string, password: string, username = TURN_USER): Promise<TurnAllocateResult> {
  return turnAllocate({
    host: spec(name).address,
    port: 3478,
    username,
    password,
    realm: DOMAIN,
    timeoutMs: 5000,
    localAddress: CLIENT,
  });
}

/** turnadmin runs so far on the appliance: each one leaves a log file named after its PID. */
export const turnadminRuns = (name: string): number =>
  Number(labSh(name, 'ls /var/log | grep -c "^turn_" || true').trim());

export const turnPid = (name: string): string => labSh(name, 'pgrep -x turnserver').trim();

/** Processes of the appliance that hold the apply lock file open (a daemon must not). */
export const applyLockHolders = (name: string): string =>
  labSh(
    name,
    'for p in /proc/[0-9]*; do ls -l "$p/fd" 2>/dev/null | grep -q rpctl.apply.lock && cat "$p/comm"; done; true',
  ).trim();

const repo = fileURLToPath(new URL('../../', import.meta.url));
const ownPidNamespace = readlinkSync('/proc/self/ns/pid');

function localCommandLines(): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        // appliances run in PID namespaces of their own: only this machine's own processes
        if (readlinkSync(`/proc/${pid}/ns/pid`) !== ownPidNamespace) return [];
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')];
      } catch {
        return [];
      }
    });
}

export interface SpawnedRun {
  code: number;
  stdout: string;
  stderr: string;
  /** every distinct local command line seen while it ran */
  commandLines: Set<string>;
  ms: number;
}

/** Run the built CLI (bin/rpctl) as a real process, watching local command lines while it runs. */
export async function spawnRpctl(args: string[], env: NodeJS.ProcessEnv): Promise<SpawnedRun> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [join(repo, 'bin', 'rpctl'), ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const commandLines = new Set<string>();
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  let running = true;
  void exited.then(() => (running = false));
  while (running) {
    for (const line of localCommandLines()) commandLines.add(line);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const code = await exited;
  return { code, stdout, stderr, commandLines, ms: performance.now() - started };
}
