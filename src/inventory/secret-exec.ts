/**
 * `exec:` secret references: a password manager's command (`exec:pass show pexip/sudo`, or the
 * argv list `{ exec: [pass, show, pexip/sudo] }`) run without a shell; its standard output, minus
 * one trailing newline, is the secret.
 *
 * The command's own error output is never shown: a vault tool may echo what it was asked for or
 * part of the secret. A failure says only "exited with status N", "timed out" or "printed nothing".
 */
import { spawn } from 'node:child_process';

/** Seconds an `exec:` command may take before it is killed. */
export const DEFAULT_EXEC_TIMEOUT_S = 10;
/** More output than this is not a password: the command is stopped. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * Split `pass show "pexip/sudo password"` into argv the way a shell would split words, without
 * any expansion: whitespace separates, '...' is literal, "..." and a backslash escape.
 */
export function splitArgv(text: string): { argv: string[] } | { problem: string } {
  const argv: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (c === '\\' && (quote === undefined || /["\\$`]/.test(text[i + 1] ?? ''))) {
      if (i + 1 >= text.length) return { problem: 'ends with a lone backslash' };
      word = (word ?? '') + text[++i];
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) argv.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) return { problem: `an unclosed ${quote} quote` };
  if (word !== undefined) argv.push(word);
  if (argv.length === 0) return { problem: 'no command' };
  return { argv };
}

/** `exec:` text for messages: the argv as written, re-quoted where needed (never the output). */
export function describeArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/**
 * Run the command and return its output, or what went wrong in words that hold nothing it printed.
 * `env` is the environment rpctl runs in (GNUPGHOME, PASSWORD_STORE_DIR...).
 */
export function runSecretCommand(
  argv: readonly string[],
  timeoutSeconds: number,
  env: NodeJS.ProcessEnv,
): Promise<{ value: string } | { problem: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let ended: string | undefined;
    const child = spawn(argv[0]!, argv.slice(1), {
      env,
      shell: false,
      stdio: ['ignore', 'pipe', 'ignore'], // stderr may hold secrets: not read at all
      timeout: timeoutSeconds * 1000,
      killSignal: 'SIGKILL',
    });
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        ended = `printed more than ${MAX_OUTPUT_BYTES} bytes`;
        child.kill('SIGKILL');
      } else chunks.push(chunk);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') resolve({ problem: 'was not found' });
      else resolve({ problem: ended ?? `could not be run (${err.code ?? 'error'})` });
    });
    child.on('close', (code, signal) => {
      if (ended) return resolve({ problem: ended });
      if (signal) {
        const timedOut = signal === 'SIGKILL';
        return resolve({
          problem: timedOut ? `did not finish within ${timeoutSeconds} s` : `was killed by ${signal}`,
        });
      }
      if (code !== 0) return resolve({ problem: `exited with status ${code}` });
      const value = Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\r?\n$/, '');
      resolve(value === '' ? { problem: 'printed nothing' } : { value });
    });
  });
}
