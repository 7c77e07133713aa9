/**
 * Values of ~/.ssh/config that need interpreting: `~` and `%` tokens (ssh_config(5) "TOKENS"),
 * ProxyJump destinations, numbers; and the error every config problem is reported with.
 */
import { join } from 'node:path';

/** A line of ~/.ssh/config that cannot be honoured; the message names file:line. */
export class SshConfigError extends Error {}

export function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

export function parsePositive(value: string | undefined, where: string, what: string, max: number): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < 1 || n > max) {
    throw new SshConfigError(
      `${where}: ${what} ${JSON.stringify(value ?? '')} is not a number from 1 to ${max}`,
    );
  }
  return n;
}

export interface TokenValues {
  /** %h: the remote host name (after HostName) */
  host: string;
  /** %n: the host name as given, before HostName */
  alias: string;
  /** %p */
  port: number;
  /** %r: the remote user */
  remoteUser: string;
  /** %u: the local user */
  localUser: string;
  /** %d: the local home directory (also what ~ expands to) */
  home: string;
}

/** Expand `~` and the `%` tokens of ssh_config(5) that rpctl knows; any other token is an error. */
export function expandTokens(text: string, values: TokenValues, what: string): string {
  const withHome = expandHome(text, values.home);
  return withHome.replace(/%(.)/g, (_all, token: string) => {
    switch (token) {
      case '%':
        return '%';
      case 'h':
        return values.host;
      case 'n':
        return values.alias;
      case 'p':
        return String(values.port);
      case 'r':
        return values.remoteUser;
      case 'u':
        return values.localUser;
      case 'd':
        return values.home;
      default:
        throw new SshConfigError(`${what}: the token %${token} is not supported by rpctl`);
    }
  });
}

export interface JumpSpec {
  host: string;
  port?: number;
  user?: string;
}

/**
 * Parse a ProxyJump value: a single `[user@]host[:port]` (IPv6 as `[addr]:port`), or an
 * `ssh://[user@]host[:port]` URI. Several hops are refused: rpctl reuses one bastion connection for
 * every host behind it and does not chain bastions.
 */
export function parseProxyJump(value: string, where: string): JumpSpec | undefined {
  const text = value.trim();
  if (text.toLowerCase() === 'none') return undefined;
  if (text.includes(',')) {
    throw new SshConfigError(
      `${where}: ProxyJump ${text} has more than one hop; rpctl supports a single jump host`,
    );
  }
  const m = /^(?:ssh:\/\/)?(?:([^@\s]+)@)?(?:\[([^\]]+)\]|([^:@\s[\]]+))(?::(\d+))?$/.exec(text);
  if (!m) throw new SshConfigError(`${where}: ProxyJump ${JSON.stringify(text)} is not [user@]host[:port]`);
  const [, user, v6, host, port] = m;
  const spec: JumpSpec = { host: (v6 ?? host)! };
  if (user !== undefined) spec.user = user;
  if (port !== undefined) spec.port = parsePositive(port, where, 'ProxyJump port', 65535);
  return spec;
}
