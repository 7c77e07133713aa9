/**
 * The floor: the OpenSSH client running `true` on every appliance, key auth, as many at once as
 * rpctl works on. One handshake and one exec per host is the least any SSH tool can do.
 */
import { spawn } from 'node:child_process';
import pLimit from 'p-limit';
import type { Timed } from './fleet.js';

export interface FloorTarget {
  address: string;
  port: number;
  user: string;
}

export async function timeFloor(
  targets: readonly FloorTarget[],
  options: { identityFile: string; knownHosts: string; concurrency: number },
): Promise<Timed> {
  const limit = pLimit(options.concurrency);
  const failures: string[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    targets.map((target) =>
      limit(
        () =>
          new Promise<void>((resolve) => {
            const child = spawn(
              'ssh',
              [
                '-F',
                '/dev/null',
                '-o',
                'BatchMode=yes',
                '-o',
                'IdentitiesOnly=yes',
                '-o',
                'ControlMaster=no',
                '-o',
                'StrictHostKeyChecking=yes',
                '-o',
                `UserKnownHostsFile=${options.knownHosts}`,
                '-i',
                options.identityFile,
                '-p',
                String(target.port),
                `${target.user}@${target.address}`,
                'true',
              ],
              { stdio: ['ignore', 'ignore', 'pipe'] },
            );
            let stderr = '';
            child.stderr.on('data', (chunk: Buffer) => {
              stderr += chunk.toString();
            });
            child.on('close', (code) => {
              if (code !== 0)
                failures.push(`${target.address}:${target.port}: exit ${code}: ${stderr.trim()}`);
              resolve();
            });
          }),
      ),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    seconds,
    peakRssMb: Number.NaN,
    cpuSeconds: Number.NaN,
    code: failures.length === 0 ? 0 : 1,
    stdout: '',
    stderr: failures.join('\n'),
  };
}
