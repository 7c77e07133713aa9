/**
 * User authentication for one connection: private keys, then ssh-agent, then password, then
 * keyboard-interactive (password prompts answered with the password), each tried only if the
 * server still offers its method. Secrets stay in memory: nothing here logs or formats them.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import ssh2, {
  type AnyAuthMethod,
  type AuthenticationType,
  type AuthHandlerMiddleware,
  type KeyboardInteractiveCallback,
  type ParsedKey,
  type Prompt,
} from 'ssh2';
import type { Endpoint } from './settings.js';

export interface AuthMaterial {
  keys: { path: string; key: ParsedKey }[];
  /** the agent's socket, or (IdentitiesOnly) an agent that offers only the identity files' keys */
  agent?: string | ssh2.BaseAgent;
  password?: string;
}

/** A failure that is the user's to fix (a key that cannot be read); the caller names the host. */
export class AuthSetupError extends Error {}

// Decrypting a passphrase-protected OpenSSH key runs bcrypt-pbkdf (~0.1 s); a fleet shares one key,
// so each file is parsed once per run (per path, mtime and size).
const parsedKeys = new Map<string, ParsedKey>();

function readKey(path: string, passphrase: string | undefined): ParsedKey {
  const { mtimeMs, size } = statSync(path);
  const cacheKey = `${path}\0${mtimeMs}\0${size}`;
  const cached = parsedKeys.get(cacheKey);
  if (cached) return cached;
  // ssh2 is CommonJS and Node only detects some of its exports by name: `utils` comes from the default.
  const parsed = ssh2.utils.parseKey(readFileSync(path), passphrase);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
  if (!key?.isPrivateKey()) throw new Error('not a private key');
  parsedKeys.set(cacheKey, key);
  return key;
}

function keyProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  const message = err instanceof Error ? err.message : String(err);
  if (/passphrase/i.test(message) && /no passphrase|encrypted/i.test(message))
    return 'it is encrypted and no passphrase is set';
  if (/bad passphrase|decrypt/i.test(message)) return 'wrong passphrase';
  return message.split('\n')[0] ?? 'unreadable';
}

function readableByOthers(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false; // reported when it is read
  }
}

/**
 * Read the keys and the secrets an endpoint authenticates with. Keys named by the target must
 * work; keys from ~/.ssh/config or the defaults are skipped (with a log line) when they do not.
 */
export function loadAuthMaterial(endpoint: Endpoint, log: (line: string) => void): AuthMaterial {
  const passphrase = endpoint.passphrase?.();
  const keys: AuthMaterial['keys'] = [];
  for (const { path, required } of endpoint.identityFiles) {
    // ssh ignores a key others can read; one the target names was checked (or allowed) by its caller
    if (!required && readableByOthers(path)) {
      log(
        `skipping the private key ${path}: group or others can read it (as ssh does); run chmod 600 ${path}`,
      );
      continue;
    }
    try {
      keys.push({ path, key: readKey(path, passphrase) });
    } catch (err) {
      const problem = keyProblem(err);
      if (required) throw new AuthSetupError(`cannot use the private key ${path}: ${problem}`);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log(`skipping the private key ${path}: ${problem}`);
    }
  }
  const material: AuthMaterial = { keys };
  if (endpoint.agent) {
    material.agent = endpoint.identitiesOnly
      ? identitiesOnlyAgent(endpoint.agent, identityBlobs(endpoint, keys))
      : endpoint.agent;
  }
  if (endpoint.password) material.password = endpoint.password();
  return material;
}

/** Public key blobs of the identity files: the keys read, and the `.pub` beside each (an agent may hold its key). */
function identityBlobs(endpoint: Endpoint, keys: AuthMaterial['keys']): Buffer[] {
  const blobs = keys.map(({ key }) => key.getPublicSSH());
  for (const { path } of endpoint.identityFiles) {
    try {
      const parsed = ssh2.utils.parseKey(readFileSync(`${path}.pub`));
      if (!(parsed instanceof Error)) blobs.push((Array.isArray(parsed) ? parsed[0] : parsed).getPublicSSH());
    } catch {
      // no .pub: only the private key (if read) counts
    }
  }
  return blobs;
}

/** IdentitiesOnly: the agent at `socket`, offering only the keys whose public blob is in `allowed`. */
function identitiesOnlyAgent(socket: string, allowed: Buffer[]): ssh2.BaseAgent {
  return new (class extends ssh2.OpenSSHAgent {
    override getIdentities(cb: Parameters<ssh2.OpenSSHAgent['getIdentities']>[0]): void {
      super.getIdentities((err, keys) =>
        cb(
          err,
          keys?.filter((key) => allowed.some((blob) => blob.equals((key as ParsedKey).getPublicSSH()))),
        ),
      );
    }
  })(socket);
}

/** What keyboard-interactive asked that rpctl would not answer (e.g. an expired password). */
export interface AuthState {
  tried: string[];
  passwordExpired: boolean;
}

const PASSWORD_PROMPT = /password/i;
// Prompts of a forced password change: answering them with the current password would be wrong.
const CHANGE_PROMPT = /new|again|retype|change|expired/i;

/** Answer only prompts that ask for the current password; anything else ends the attempt. */
function answerPrompts(
  password: string,
  state: AuthState,
): (
  name: string,
  instructions: string,
  lang: string,
  prompts: Prompt[],
  finish: KeyboardInteractiveCallback,
) => void {
  return (_name, instructions, _lang, prompts, finish) => {
    if (CHANGE_PROMPT.test(instructions) || prompts.some((p) => CHANGE_PROMPT.test(p.prompt))) {
      state.passwordExpired = true;
      finish([]);
      return;
    }
    const answerable = prompts.every((p) => PASSWORD_PROMPT.test(p.prompt) && p.echo !== true);
    finish(answerable ? prompts.map(() => password) : []);
  };
}

/** ssh2 auth handler trying each available method once, in order; records what it tried. */
export function authHandler(
  username: string,
  material: AuthMaterial,
  state: AuthState,
): AuthHandlerMiddleware {
  const attempts: { method: AuthenticationType; label: string; auth: AnyAuthMethod }[] = [];
  for (const { path, key } of material.keys) {
    attempts.push({
      method: 'publickey',
      label: `publickey ${basename(path)}`,
      auth: { type: 'publickey', username, key },
    });
  }
  if (material.agent) {
    attempts.push({
      method: 'publickey',
      label: 'agent',
      auth: { type: 'agent', username, agent: material.agent },
    });
  }
  if (material.password !== undefined) {
    const password = material.password;
    attempts.push({ method: 'password', label: 'password', auth: { type: 'password', username, password } });
    attempts.push({
      method: 'keyboard-interactive',
      label: 'keyboard-interactive',
      auth: { type: 'keyboard-interactive', username, prompt: answerPrompts(password, state) },
    });
  }
  let next = 0;
  return (methodsLeft, _partialSuccess, callback) => {
    while (next < attempts.length) {
      const attempt = attempts[next++]!;
      // methodsLeft is null before the first attempt; later it lists what the server still accepts.
      if (methodsLeft && !methodsLeft.includes(attempt.method)) continue;
      state.tried.push(attempt.label);
      callback(attempt.auth);
      return;
    }
    // ssh2 takes `false` for "no more methods"; its type declarations omit it.
    (callback as unknown as (auth: false) => void)(false);
  };
}
