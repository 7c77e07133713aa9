/**
 * Local problems found before any host is contacted (exit 3): a report, history or run record
 * that cannot be written, or a private key that cannot be read, would otherwise surface only
 * after every host was changed.
 *
 *   checkWritableFile('--output', flags.output);
 *   checkWritableDir('the run-record directory', join(stateDir(env), 'runs'));
 *   checkIdentityFiles(appliances);
 */
import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../errors.js';
import type { ApplianceConfig } from '../inventory/model.js';

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: 'does not exist',
    EACCES: 'is not writable (permission denied)',
    EPERM: 'is not writable (permission denied)',
    EROFS: 'is on a read-only file system',
    ENOSPC: 'has no space left',
    ENOTDIR: 'is not a directory',
    EISDIR: 'is a directory',
  };
  return reasons[code ?? ''] ?? `cannot be written (${code ?? String(err)})`;
}

/** Create and remove a probe file in `dir`: proves what access(2) cannot (root, read-only mounts). */
function probe(dir: string, what: string, path: string): void {
  const file = `${dir}/.rpctl-write-check.${process.pid}`;
  try {
    closeSync(openSync(file, 'wx', 0o600));
    rmSync(file, { force: true });
  } catch (err) {
    throw new InputError(`${what} ${path} ${reason(err)}; nothing was contacted`);
  }
}

/** `path` will be written atomically (a temp file beside it, then a rename). */
export function checkWritableFile(what: string, path: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    // a file that does not exist yet is fine: its directory is checked below
  }
  if (isDirectory) throw new InputError(`${what} ${path} is a directory, not a file; nothing was contacted`);
  probe(dirname(path), what, path);
}

/** `dir` is created when missing (mode 0700) and must take new files. */
export function checkWritableDir(what: string, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new InputError(`${what} ${dir} ${reason(err)}; nothing was contacted`);
  }
  probe(dir, what, dir);
}

/** A private key the inventory names must be a readable file; ssh would only say so at connect. */
export function checkIdentityFiles(appliances: readonly ApplianceConfig[]): void {
  for (const appliance of appliances) {
    const key = appliance.ssh.identityFile;
    if (key === undefined) continue;
    const where = `${appliance.source.file}:${appliance.source.line}`;
    try {
      if (!statSync(key).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      closeSync(openSync(key, 'r'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const problem =
        code === 'ENOENT'
          ? 'does not exist'
          : code === 'EISDIR'
            ? 'is not a file'
            : code === 'EACCES'
              ? 'cannot be read (permission denied)'
              : `cannot be read (${code ?? String(err)})`;
      throw new InputError(
        `identityFile ${key} of ${appliance.name} (${where}) ${problem}; nothing was contacted`,
      );
    }
  }
}
