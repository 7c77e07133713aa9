/**
 * Upload files into a new private directory over ssh2's own SFTP client, on the connection the
 * session already has (one SFTP channel per upload, closed at the end).
 *
 * Round trips: the channel, one `mkdir` (awaited: nothing is written into a directory someone else
 * made), then for all files at once `open` (exclusive create), `write`, `fchmod` + `close`.
 */
import type { Client, SFTPWrapper } from 'ssh2';
import { HostError, InputError } from '../errors.js';
import type { SessionStats, UploadFile } from './types.js';

const SFTP_STATUS: Record<number, string> = {
  2: 'no such file or directory',
  3: 'permission denied',
  // SFTP v3 has no "already exists": OpenSSH's sftp-server answers a generic failure for EEXIST.
  4: 'it already exists (or the server refused it)',
};

function describe(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number' && SFTP_STATUS[code]) return SFTP_STATUS[code];
  return err instanceof Error ? err.message : String(err);
}

/** The directory is absolute and every name a unique plain file name (shared with stdin-files.ts). */
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

const call = <T>(fn: (cb: (err: Error | undefined | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

async function writeOne(sftp: SFTPWrapper, path: string, file: UploadFile): Promise<void> {
  const mode = file.mode ?? 0o600;
  const content = typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : file.content;
  // 'wx': exclusive create, so an existing file (or symlink) is never written through.
  const handle = await call<Buffer>((cb) => sftp.open(path, 'wx', { mode }, cb));
  try {
    if (content.length > 0)
      await call<void>((cb) =>
        sftp.write(handle, content, 0, content.length, 0, (err) => cb(err, undefined)),
      ).catch((err: Error) => {
        // SFTP v3 has no "no space left": OpenSSH answers a generic failure for ENOSPC and EDQUOT
        const code = (err as { code?: unknown }).code;
        throw code === 4 ? new Error('no space left on the device (or over quota)') : err;
      });
    // The server's umask applied at open; fchmod makes the mode exact. Sent together with close.
    const chmod = call<void>((cb) => sftp.fchmod(handle, mode, (err) => cb(err, undefined)));
    const close = call<void>((cb) => sftp.close(handle, (err) => cb(err, undefined)));
    await Promise.all([chmod, close]);
  } catch (err) {
    sftp.close(handle, () => {});
    throw err;
  }
}

export async function uploadFiles(
  client: Client,
  name: string,
  stats: SessionStats,
  dir: string,
  files: readonly UploadFile[],
): Promise<void> {
  checkUploadRequest(dir, files);
  stats.sftpSessions++;
  const sftp = await call<SFTPWrapper>((cb) => client.sftp(cb)).catch((err: Error) => {
    throw new HostError('upload', `${name}: cannot open an SFTP channel: ${err.message}`, { cause: err });
  });
  const closed = new Promise<void>((resolve) => sftp.once('close', () => resolve()));
  try {
    await call<void>((cb) => sftp.mkdir(dir, { mode: 0o700 }, (err) => cb(err, undefined))).catch(
      (err: Error) => {
        throw new HostError('upload', `${name}: cannot create ${dir}: ${describe(err)}`, { cause: err });
      },
    );
    await Promise.all(
      files.map((file) =>
        writeOne(sftp, `${dir}/${file.name}`, file).catch((err: Error) => {
          throw new HostError('upload', `${name}: cannot write ${dir}/${file.name}: ${describe(err)}`, {
            cause: err,
          });
        }),
      ),
    );
  } finally {
    sftp.end();
    await closed;
  }
}
