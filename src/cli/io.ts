/**
 * Where a command reads and writes. The real process in production; buffers in tests, so the CLI
 * runs in-process and every byte it prints can be checked (secrets grep, JSON parsing).
 */
export interface Io {
  stdout: { write(text: string): void; isTTY: boolean };
  /** rows and columns: the terminal's size, when stderr is one (the progress display fits in it) */
  stderr: { write(text: string): void; isTTY: boolean; rows?: number; columns?: number };
  /** interactive questions (confirmation, secret prompts) are only asked when this is true */
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** ask a question on the terminal; `secret` hides the answer */
  prompt(question: string, options?: { secret?: boolean }): Promise<string>;
}

/**
 * A stream whose reader went away (`rpctl drift | head -1`, a `jq` that exited) swallows what is
 * written after: the run finishes what it started (an apply is not cut in half) and exits with its
 * own code, without an EPIPE stack trace. Other write errors still surface.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream): { write(text: string): void } {
  let closed = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    closed = true;
  });
  return {
    write: (text) => {
      if (!closed && !stream.destroyed) stream.write(text);
    },
  };
}

export function processIo(): Io {
  const stdout = quietOnClosedPipe(process.stdout);
  const stderr = quietOnClosedPipe(process.stderr);
  return {
    stdout: { write: stdout.write, isTTY: Boolean(process.stdout.isTTY) },
    stderr: {
      write: stderr.write,
      isTTY: Boolean(process.stderr.isTTY),
      get rows() {
        return process.stderr.rows;
      },
      get columns() {
        return process.stderr.columns;
      },
    },
    stdinIsTTY: Boolean(process.stdin.isTTY),
    env: process.env,
    cwd: process.cwd(),
    prompt: (question, options) => promptTty(question, options?.secret ?? false),
  };
}

async function promptTty(question: string, secret: boolean): Promise<string> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (secret) {
    // Echo nothing after the question: readline writes through _writeToOutput.
    const internal = rl as unknown as { _writeToOutput: (s: string) => void };
    let asked = false;
    internal._writeToOutput = (s: string) => {
      if (!asked) {
        process.stderr.write(s);
        asked = true;
      }
    };
  }
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    if (secret) process.stderr.write('\n');
    rl.close();
  }
}

/** An Io that records everything, for tests. */
export function bufferIo(
  options: { env?: NodeJS.ProcessEnv; cwd?: string; tty?: boolean; answers?: string[] } = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  const answers = [...(options.answers ?? [])];
  const io: Io = {
    stdout: { write: (t) => void out.push(t), isTTY: options.tty ?? false },
    stderr: { write: (t) => void err.push(t), isTTY: options.tty ?? false },
    stdinIsTTY: options.tty ?? false,
    env: options.env ?? { ...process.env, NO_COLOR: '1' },
    cwd: options.cwd ?? process.cwd(),
    prompt: async () => answers.shift() ?? '',
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}
