/**
 * The built-in reader of ~/.ssh/config, for machines without OpenSSH (where `ssh` is installed,
 * openssh.ts asks `ssh -G` instead). The part of ssh_config(5) it honours:
 * `Host` blocks (globs, `!` negation), the first value obtained for a keyword wins, `Include` (globs,
 * relative to ~/.ssh; conditional when inside a Host block), and `Match` blocks skipped (only
 * `Match all` applies, as a plain reset to global scope).
 *
 *   // ~/.ssh/config:  Host rp*  /  HostName %h.dmz.example.com  /  User ops
 *   const values = readSshConfig('rp1');
 *   values.hostName   // '%h.dmz.example.com' (tokens are expanded by settings.ts, with the final values)
 *   values.user       // 'ops'
 *
 * Keywords: HostName, User, Port, IdentityFile (repeatable), ProxyJump, ProxyCommand (reported, not
 * supported), UserKnownHostsFile, GlobalKnownHostsFile, HashKnownHosts, HostKeyAlias, IdentityAgent,
 * IdentitiesOnly, ConnectTimeout, ServerAliveInterval. Any other keyword that applies is named in
 * `notes` as skipped (shown by --verbose).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { globToRegExp, matchPatternList } from './host-patterns.js';
import { expandHome, parsePositive, SshConfigError } from './ssh-config-values.js';

export {
  expandTokens,
  type JumpSpec,
  parseProxyJump,
  SshConfigError,
  type TokenValues,
} from './ssh-config-values.js';

export interface SshConfigValues {
  hostName?: string;
  user?: string;
  port?: number;
  /** as written (tokens such as %h unexpanded), in the order they were read */
  identityFiles: string[];
  proxyJump?: string;
  proxyCommand?: string;
  /** as written, tokens unexpanded */
  userKnownHostsFiles?: string[];
  /** default /etc/ssh/ssh_known_hosts (read, never written) */
  globalKnownHostsFiles?: string[];
  hashKnownHosts?: boolean;
  /** the name host keys are looked up and recorded under, instead of the host's */
  hostKeyAlias?: string;
  /** `none`, `SSH_AUTH_SOCK`, `$VAR` or a socket path */
  identityAgent?: string;
  /** only the identity files: the agent offers only their keys */
  identitiesOnly?: boolean;
  /** seconds */
  connectTimeout?: number;
  /** seconds */
  serverAliveInterval?: number;
  /** where each value came from, for messages: keyword -> `file:line` */
  origin: Record<string, string>;
  /** what was skipped, e.g. `Match` blocks */
  notes: string[];
}

interface ConfigLine {
  keyword: string;
  args: string[];
  file: string;
  line: number;
}

const MAX_INCLUDE_DEPTH = 16;

/** Split arguments as OpenSSH does: whitespace separated, double or single quotes group. */
function splitArgs(text: string, where: string): string[] {
  const args: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) {
    const [all, dq, sq, bare] = m;
    if (bare?.includes('"') || bare?.includes("'")) throw new SshConfigError(`${where}: unbalanced quotes`);
    args.push(dq ?? sq ?? bare ?? all);
  }
  return args;
}

function parseLines(text: string, file: string): ConfigLine[] {
  const lines: ConfigLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+|$)(.*)$/.exec(trimmed);
    const where = `${file}:${index + 1}`;
    if (!m) throw new SshConfigError(`${where}: cannot read this line`);
    lines.push({ keyword: m[1]!.toLowerCase(), args: splitArgs(m[2] ?? '', where), file, line: index + 1 });
  });
  return lines;
}

const parsedFiles = new Map<string, { mtimeMs: number; lines: ConfigLine[] }>();

/** Lines of a config file, or undefined when it does not exist. */
function readLines(path: string): ConfigLine[] | undefined {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const cached = parsedFiles.get(path);
  if (cached?.mtimeMs === mtimeMs) return cached.lines;
  const lines = parseLines(readFileSync(path, 'utf8'), path);
  parsedFiles.set(path, { mtimeMs, lines });
  return lines;
}

/** Expand `*` and `?` in each path segment (glob(3) style: wildcards do not match a leading dot). */
export function expandGlob(pattern: string): string[] {
  if (!/[*?]/.test(pattern)) return [pattern];
  const segments = pattern.split('/');
  let paths = [segments[0] === '' ? '/' : segments[0]!];
  for (const segment of segments.slice(1)) {
    if (segment === '') continue;
    if (!/[*?]/.test(segment)) {
      paths = paths.map((p) => join(p, segment));
      continue;
    }
    const re = globToRegExp(segment, 's');
    paths = paths.flatMap((dir) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return [];
      }
      return names
        .filter((name) => re.test(name) && (!name.startsWith('.') || segment.startsWith('.')))
        .sort()
        .map((name) => join(dir, name));
    });
  }
  return paths;
}

function parseYesNo(value: string | undefined, where: string, what: string): boolean {
  const v = value?.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw new SshConfigError(`${where}: ${what} must be yes or no, not ${JSON.stringify(value ?? '')}`);
}

interface Walk {
  alias: string;
  home: string;
  values: SshConfigValues;
}

/** Apply one keyword if it is the first value for it (IdentityFile accumulates). */
function apply(walk: Walk, line: ConfigLine): void {
  const { values } = walk;
  const where = `${line.file}:${line.line}`;
  const first = line.args[0];
  const once = (key: string, set: () => void) => {
    if (key in values.origin) return;
    set();
    values.origin[key] = where;
  };
  switch (line.keyword) {
    case 'hostname':
      once('hostName', () => {
        values.hostName = first;
      });
      return;
    case 'user':
      once('user', () => {
        values.user = first;
      });
      return;
    case 'port':
      once('port', () => {
        values.port = parsePositive(first, where, 'Port', 65535);
      });
      return;
    case 'identityfile':
      if (first !== undefined) values.identityFiles.push(first);
      values.origin.identityFiles ??= where;
      return;
    case 'proxyjump':
    case 'proxycommand':
      // ProxyJump and ProxyCommand exclude each other: whichever comes first wins, as in OpenSSH.
      once('proxy', () => {
        if (line.keyword === 'proxyjump') values.proxyJump = line.args.join(' ');
        else values.proxyCommand = line.args.join(' ');
      });
      return;
    case 'userknownhostsfile':
      once('userKnownHostsFiles', () => {
        values.userKnownHostsFiles = [...line.args];
      });
      return;
    case 'globalknownhostsfile':
      once('globalKnownHostsFiles', () => {
        values.globalKnownHostsFiles = [...line.args];
      });
      return;
    case 'hostkeyalias':
      once('hostKeyAlias', () => {
        values.hostKeyAlias = first;
      });
      return;
    case 'identityagent':
      once('identityAgent', () => {
        values.identityAgent = first;
      });
      return;
    case 'identitiesonly':
      once('identitiesOnly', () => {
        values.identitiesOnly = parseYesNo(first, where, 'IdentitiesOnly');
      });
      return;
    case 'hashknownhosts':
      once('hashKnownHosts', () => {
        values.hashKnownHosts = parseYesNo(first, where, 'HashKnownHosts');
      });
      return;
    case 'connecttimeout':
      once('connectTimeout', () => {
        values.connectTimeout = parsePositive(first, where, 'ConnectTimeout', 3600);
      });
      return;
    case 'serveraliveinterval':
      once('serverAliveInterval', () => {
        values.serverAliveInterval =
          first === '0' ? 0 : parsePositive(first, where, 'ServerAliveInterval', 86400);
      });
      return;
    default:
      // what ssh would do with it is unknown here: say so rather than connect differently in silence
      values.notes.push(
        `${where}: ${line.keyword} is not read by rpctl's built-in ssh_config reader and was skipped`,
      );
  }
}

/**
 * Walk a file's lines. `active` is whether the current block applies to the alias; `neverMatch`
 * is set inside files included from an inactive block, so nothing in them can apply (OpenSSH's
 * SSHCONF_NEVERMATCH).
 */
function walkFile(
  walk: Walk,
  lines: ConfigLine[],
  active: boolean,
  neverMatch: boolean,
  depth: number,
): void {
  for (const line of lines) {
    const where = `${line.file}:${line.line}`;
    switch (line.keyword) {
      case 'host':
        active = !neverMatch && matchPatternList(walk.alias, line.args) === 'match';
        break;
      case 'match':
        if (line.args.length === 1 && line.args[0]?.toLowerCase() === 'all') {
          active = !neverMatch;
        } else {
          active = false;
          walk.values.notes.push(`${where}: Match blocks are not supported by rpctl and were skipped`);
        }
        break;
      case 'include': {
        if (depth >= MAX_INCLUDE_DEPTH) throw new SshConfigError(`${where}: Include nested too deeply`);
        for (const arg of line.args) {
          const expanded = expandHome(arg, walk.home);
          const pattern = isAbsolute(expanded) ? expanded : join(walk.home, '.ssh', expanded);
          for (const path of expandGlob(pattern)) {
            const included = readLines(path);
            if (included) walkFile(walk, included, active, neverMatch || !active, depth + 1);
          }
        }
        break;
      }
      default:
        if (active) apply(walk, line);
    }
  }
}

export interface ReadSshConfigOptions {
  /** default ~/.ssh/config; a missing file means no settings */
  path?: string;
  /** the local home directory (for ~ and relative Includes); default os.homedir() */
  home?: string;
}

/** The settings ~/.ssh/config gives for `alias` (the host name as the user wrote it). */
export function readSshConfig(alias: string, options: ReadSshConfigOptions = {}): SshConfigValues {
  const home = options.home ?? homedir();
  const path = expandHome(options.path ?? '~/.ssh/config', home);
  const values: SshConfigValues = { identityFiles: [], origin: {}, notes: [] };
  const lines = readLines(path);
  if (lines) walkFile({ alias, home, values }, lines, true, false, 0);
  return values;
}
