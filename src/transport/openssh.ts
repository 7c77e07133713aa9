/**
 * What OpenSSH itself resolves for a host: `ssh -G` evaluates ssh_config(5) completely (Match,
 * Include, /etc/ssh/ssh_config, CanonicalizeHostname) and prints the result, so rpctl connects
 * with the settings `ssh HOST` would use. Where OpenSSH is not installed, the built-in parser
 * (ssh-config.ts) reads ~/.ssh/config and names what it skips.
 *
 *   const values = resolveSshConfig('rp1', { user: 'admin', home, localUser });
 *   values.user        // 'admin' (passed as -l, so `Match user` sees it as ssh would)
 *   values.resolvedBy  // 'ssh -G' or 'built-in parser'
 *
 * ssh runs once per distinct host, user, port and config file in a process, never for each exec.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readSshConfig, type SshConfigValues } from './ssh-config.js';

export interface ResolveOptions {
  /** the inventory's user and port: given to ssh as -l/-p, so they win over ssh_config as in ssh */
  user?: string;
  port?: number;
  /** a config file instead of ~/.ssh/config and /etc/ssh/ssh_config (ssh -F) */
  configPath?: string;
  home: string;
  localUser: string;
  /** `ssh` to run; undefined disables it (the built-in parser reads ~/.ssh/config) */
  sshBinary?: string;
}

export interface ResolvedConfig extends SshConfigValues {
  resolvedBy: 'ssh -G' | 'built-in parser';
}

const LIST_KEYS = new Set(['identityfile']);

/** The keys ssh tries when no IdentityFile is configured (ssh -G prints them all, as if set). */
const DEFAULT_IDENTITY = /^~\/\.ssh\/id_(rsa|ecdsa|ecdsa_sk|ed25519|ed25519_sk|xmss|dsa)$/;

/** Parse `ssh -G` output (one `keyword value` per line, keywords lower case) into SshConfigValues. */
export function parseSshG(output: string, defaults: { localUser: string }): SshConfigValues {
  const raw = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, keyword, value] = m as unknown as [string, string, string];
    const key = keyword.toLowerCase();
    if (LIST_KEYS.has(key)) raw.set(key, [...(raw.get(key) ?? []), value]);
    else if (!raw.has(key)) raw.set(key, [value]);
  }
  const one = (key: string) => raw.get(key)?.[0];
  const origin = 'ssh -G';
  // only ssh's defaults: nothing is configured (rpctl's own defaults apply, a bastion may use the appliance's key)
  const identityFiles = raw.get('identityfile') ?? [];
  const configured = identityFiles.some((path) => !DEFAULT_IDENTITY.test(path)) ? identityFiles : [];
  const values: SshConfigValues = { identityFiles: configured, origin: {}, notes: [] };
  const set = <K extends keyof SshConfigValues>(key: K, value: SshConfigValues[K] | undefined) => {
    if (value === undefined) return;
    values[key] = value;
    values.origin[key] = origin;
  };
  set('hostName', one('hostname'));
  // ssh prints the local user and port 22 when nothing names them: those are left to rpctl's defaults
  const user = one('user');
  set('user', user === defaults.localUser ? undefined : user);
  const port = Number(one('port'));
  set('port', Number.isInteger(port) && port > 0 && port !== 22 ? port : undefined);
  const jump = one('proxyjump');
  if (jump !== undefined && jump.toLowerCase() !== 'none') set('proxyJump', jump);
  const command = one('proxycommand');
  if (command !== undefined && command.toLowerCase() !== 'none') set('proxyCommand', command);
  if (values.proxyJump !== undefined || values.proxyCommand !== undefined) values.origin.proxy = origin;
  set('userKnownHostsFiles', one('userknownhostsfile')?.split(/\s+/));
  set('globalKnownHostsFiles', one('globalknownhostsfile')?.split(/\s+/));
  set('hashKnownHosts', yesNo(one('hashknownhosts')));
  set('identitiesOnly', yesNo(one('identitiesonly')));
  set('identityAgent', one('identityagent'));
  set('hostKeyAlias', one('hostkeyalias'));
  const timeout = Number(one('connecttimeout'));
  set('connectTimeout', Number.isInteger(timeout) && timeout > 0 ? timeout : undefined);
  const alive = Number(one('serveraliveinterval'));
  // 0 is ssh's default (no keepalives): rpctl keeps its own default unless a value is set
  set('serverAliveInterval', Number.isInteger(alive) && alive > 0 ? alive : undefined);
  return values;
}

function yesNo(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  return ['yes', 'true'].includes(value.toLowerCase());
}

const resolved = new Map<string, ResolvedConfig>();
const pending = new Map<string, Promise<void>>();

interface SshGRequest {
  args: string[];
  /** the cache key: one ssh -G per distinct host, user, port, config file and home */
  key: string;
}

function request(alias: string, options: ResolveOptions): SshGRequest {
  const args = ['-G'];
  if (options.configPath) args.push('-F', options.configPath);
  if (options.user) args.push('-l', options.user);
  if (options.port) args.push('-p', String(options.port));
  args.push('--', alias);
  return { args, key: `${options.sshBinary ?? ''}\0${options.home}\0${args.join('\0')}` };
}

/** The settings for `alias`: from `ssh -G` where it runs, else from the built-in parser. */
export function resolveSshConfig(alias: string, options: ResolveOptions): ResolvedConfig {
  const { args, key } = request(alias, options);
  const cached = resolved.get(key);
  if (cached) return cached;
  let result = builtIn(alias, options);
  if (options.sshBinary) {
    const run = spawnSync(options.sshBinary, args, { encoding: 'utf8', timeout: 10_000, stdio: 'pipe' });
    result = fromRun(alias, options, run.error, run.status, run.stdout, run.stderr);
  }
  resolved.set(key, result);
  return result;
}

/**
 * Run ssh -G for `alias` without blocking (many hosts at once), so resolveSshConfig finds it
 * cached: a fleet's connections do not wait on one ssh process after another.
 */
export function prefetchSshConfig(alias: string, options: ResolveOptions): Promise<void> {
  const { args, key } = request(alias, options);
  const sshBinary = options.sshBinary;
  if (!sshBinary || resolved.has(key)) return Promise.resolve();
  let running = pending.get(key);
  if (!running) {
    running = new Promise<void>((done) => {
      execFile(sshBinary, args, { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) => {
        const status = error && typeof error.code === 'number' ? error.code : error ? null : 0;
        const spawnError = error && typeof error.code !== 'number' ? error : undefined;
        resolved.set(key, fromRun(alias, options, spawnError, status, stdout, stderr));
        pending.delete(key);
        done();
      });
    });
    pending.set(key, running);
  }
  return running;
}

/** What one ssh -G run gave: its settings, or the built-in parser's with a note saying why. */
function fromRun(
  alias: string,
  options: ResolveOptions,
  error: Error | undefined,
  status: number | null,
  stdout: string,
  stderr: string,
): ResolvedConfig {
  if (!error && status === 0) return { ...parseSshG(stdout, options), resolvedBy: 'ssh -G' };
  const values = builtIn(alias, options);
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return values; // no OpenSSH
  const why = error?.message ?? (stderr.trim().split('\n')[0] || `exit ${status}`);
  values.notes.unshift(`ssh -G failed (${why}); read ~/.ssh/config with the built-in parser`);
  return values;
}

function builtIn(alias: string, options: ResolveOptions): ResolvedConfig {
  const values = readSshConfig(alias, {
    home: options.home,
    ...(options.configPath ? { path: options.configPath } : {}),
  });
  return { ...values, notes: [...values.notes], resolvedBy: 'built-in parser' };
}
