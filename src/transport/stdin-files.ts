/**
 * Files carried on a command's stdin instead of a separate SFTP session: the contents one after
 * the other, and a receiving script that knows each file's name and byte length (they are not
 * secret; the contents are, and never appear on a command line). It creates the directory 0700
 * (failing if it exists, so nothing is written into a directory someone else made) and reads each
 * file with `head -c`, which never reads past the count it is given, then checks the length, so a
 * stream cut short fails instead of installing half a file.
 *
 * With sudo, the caller's stdin reaches the command only after sudo has taken the password
 * (exec.ts), so the files are never fed to sudo's password prompt.
 */
import { InputError } from '../errors.js';
import { joinCommands, type ShellCommand, sh } from './shell.js';
import type { UploadFile } from './types.js';

/** exit status of a receive that failed (before anything else of the command ran) */
export const RECEIVE_FAILED_EXIT = 30;

/** The directory is absolute and every name a unique plain file name. */
export function checkUploadRequest(dir: string, files: readonly UploadFile[]): void {
  if (!dir.startsWith('/') || dir.includes('\0')) {
    throw new InputError(`internal: upload directory ${JSON.stringify(dir)} is not an absolute path`);
  }
  const seen = new Set<string>();
  for (const { name } of files) {
    if (name === '' || name === '.' || name === '..' || /[/\0]/.test(name) || seen.has(name)) {
      throw new InputError(
        `internal: upload file name ${JSON.stringify(name)} is not a unique plain file name`,
      );
    }
    seen.add(name);
  }
}

export interface StdinFiles {
  /** run first in the command: creates `dir` and reads every file from stdin into it */
  receive: ShellCommand;
  stdin: Buffer;
}

export function filesOnStdin(dir: string, files: readonly UploadFile[]): StdinFiles {
  checkUploadRequest(dir, files);
  const contents = files.map((f) =>
    typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : f.content,
  );
  const reads = files.map((file, i) => {
    const path = `${dir}/${file.name}`;
    const length = contents[i]!.length;
    const mode = (file.mode ?? 0o600).toString(8);
    return sh`head -c ${length} > ${path} && [ "$(wc -c < ${path})" -eq ${length} ] && chmod ${mode} ${path}`;
  });
  const failed = sh`{ echo ${`rpctl: receiving ${files.length} file(s) into ${dir} failed`} >&2; exit ${RECEIVE_FAILED_EXIT}; }`;
  const all = reads.length ? joinCommands(reads, ' && ') : sh`:`;
  const receive = sh`mkdir -m 0700 ${dir} || ${failed}
( umask 077 && ${all} ) || { rm -rf ${dir}; ${failed}; }`;
  return { receive, stdin: Buffer.concat(contents) };
}
