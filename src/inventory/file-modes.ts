/**
 * ssh's StrictModes for the files rpctl reads secrets from: a private key or a `file:` secret that
 * group or others can read is refused (ssh ignores such a key), unless the inventory sets
 * `strictModes: false`.
 *
 *   unprotectedFile('/home/ops/.ssh/id_ed25519')   // 'mode 0644 lets group or others read it; run chmod 600 ...'
 */
import { statSync } from 'node:fs';
import { InputError } from '../errors.js';
import type { ApplianceConfig } from './model.js';

/** Why a file is too open to hold a secret, with the chmod to run; undefined when it is fine or absent. */
export function unprotectedFile(path: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return undefined; // a missing or unreadable file is reported where it is read
  }
  if ((mode & 0o077) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return `mode ${octal} lets group or others read it; run \`chmod 600 ${path}\` (or set strictModes: false in the inventory)`;
}

/** Refuse (exit 3, nothing contacted) the private keys of these appliances that others can read. */
export function checkKeyModes(appliances: readonly ApplianceConfig[]): void {
  const problems = new Map<string, string>();
  for (const { name, ssh } of appliances) {
    if (!ssh.identityFile || problems.has(ssh.identityFile)) continue;
    const problem = unprotectedFile(ssh.identityFile);
    if (problem) problems.set(ssh.identityFile, `${name}: the private key ${ssh.identityFile}: ${problem}`);
  }
  const lines = [...problems.values()];
  if (lines.length === 0) return;
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more keys)` : '';
  throw new InputError(`${lines[0]}${more}`, { detail: lines.join('\n') });
}
