/**
 * Helpers for lab tests that drive rpctl: run the CLI in-process (every byte it prints captured),
 * write inventories derived from the lab's own, and count SSH connections on the appliances.
 *
 *   const inv = labInventoryFile((doc) => { doc.appliances['lab-1'].upstreams.nodes.push('127.0.3.30'); });
 *   const { code, stdout } = await rpctl(['apply', '-i', inv, '--yes']);
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { bufferIo, type Io } from '../../src/cli/io.js';
import { run } from '../../src/cli/program.js';
import { registry } from '../registry.js';
import { clientFiles, labSh } from './lab.js';

export { registry };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A directory for this test file's records and scratch files. */
export const scratch = mkdtempSync(join(tmpdir(), 'rpctl-test-'));

export async function rpctl(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; tty?: boolean; prompt?: Io['prompt'] } = {},
): Promise<CliResult> {
  const buffers = bufferIo({
    env: { ...process.env, NO_COLOR: '1', RPCTL_STATE_DIR: join(scratch, 'state'), ...options.env },
    tty: options.tty,
  });
  if (options.prompt) buffers.io.prompt = options.prompt;
  const code = await run(args, buffers.io, registry);
  return { code, stdout: buffers.stdout(), stderr: buffers.stderr() };
}

// biome-ignore lint/suspicious/noExplicitAny: tests reshape the inventory freely
export type InventoryDoc = any;

let inventories = 0;

/** The lab's inventory with absolute paths, changed by `edit`, written to a scratch file. */
export function labInventoryFile(edit?: (doc: InventoryDoc) => void): string {
  const files = clientFiles();
  const doc = parse(readFileSync(files.inventory, 'utf8'));
  doc.defaults.ssh.identityFile = files.identityFile;
  doc.defaults.ssh.knownHosts = files.knownHosts;
  doc.defaults.sudo.password = `file:${files.sudoPasswordFile}`;
  edit?.(doc);
  const path = join(scratch, `inventory-${++inventories}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}

/** SSH logins sshd accepted on an appliance so far (its /var/log/auth.log). */
export function acceptedLogins(name: string): number {
  return Number(labSh(name, 'grep -c "^Accepted " /var/log/auth.log || true').trim());
}

/** Every file runs left in the state directory (records, history), for secret greps. */
export function stateFiles(dir = join(scratch, 'state')): string[] {
  try {
    return readdirSync(dir).flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? stateFiles(path) : [path];
    });
  } catch {
    return [];
  }
}
