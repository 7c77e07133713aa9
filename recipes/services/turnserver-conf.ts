/**
 * /etc/turnserver.conf as the TURN recipes need it: the addresses the server listens and relays
 * on, and a surgical edit of one address key: `external-ip=` (turn-nat) or `relay-ip=` (second-nic).
 *
 *   setExternalIp('realm=x\nexternal-ip=1.2.3.4\n', '203.0.113.5')  -> 'realm=x\nexternal-ip=203.0.113.5\n'
 *   setExternalIp(text, null)                                        -> every external-ip line removed
 *   setRelayIp(text, '198.51.100.130')                               -> exactly one relay-ip line
 *
 * coturn silently takes the first of several `external-ip` lines, so rpctl owns exactly one line of
 * the key it sets: it rewrites the first in place, drops the others, or appends one at the end.
 * Every other byte of the file (comments, order, other keys, a commented-out `#external-ip=`) is kept.
 */
import { TURNSERVER_CONF } from '../appliance/paths.js';
import { addressKey } from '../upstreams/schema.js';

export { TURNSERVER_CONF };
export const DEFAULT_TURN_PORT = 3478;

/** `key=value` and bare-flag lines of turnserver.conf, comments skipped; repeated keys collected. */
export function turnserverSettings(text: string | undefined): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).trim();
    const value = eq === -1 ? '' : line.slice(eq + 1).trim();
    settings.set(key, [...(settings.get(key) ?? []), value]);
  }
  return settings;
}

/**
 * Lines of turnserver.conf that carry secrets the inventory may not know (permissive mode's shared
 * secret, static users, the CLI password): diffs of the file show their key only.
 */
export const TURNSERVER_SECRET_LINES =
  /^([ \t]*(?:static-auth-secret|user|cli-password|secret)(?:[ \t]*=[ \t]*|[ \t]+)).*$/;

type AddressKey = 'external-ip' | 'relay-ip' | 'listening-ip';

// coturn reads `key=value` and `key value`; leading blanks and a CR (a file edited on Windows) too.
const keyLine = (key: AddressKey) =>
  new RegExp(`^[ \\t]*${key}(?:[ \\t]*=[ \\t]*|[ \\t]+)(.*?)[ \\t]*(\\r?)$`);

export interface TurnAddresses {
  listeningIps: string[];
  relayIps: string[];
  /** the first external-ip line's value (the one coturn uses), or null */
  externalIp: string | null;
  listeningPort: number;
  realm: string | undefined;
}

export function turnAddresses(text: string | undefined): TurnAddresses {
  const settings = turnserverSettings(text);
  const port = Number(settings.get('listening-port')?.[0]);
  return {
    listeningIps: settings.get('listening-ip') ?? [],
    relayIps: settings.get('relay-ip') ?? [],
    externalIp: externalIpValues(text ?? '')[0] ?? null,
    listeningPort: Number.isInteger(port) && port > 0 && port < 65536 ? port : DEFAULT_TURN_PORT,
    realm: settings.get('realm')?.[0] || undefined,
  };
}

/** One line for plans: "listening on 10.0.0.2:3478, relaying from 10.0.0.2, external-ip none". */
export function describeTurnAddresses(addresses: TurnAddresses): string {
  const list = (ips: string[]) => (ips.length ? ips.join(', ') : 'all addresses');
  return `listening on ${list(addresses.listeningIps)} port ${addresses.listeningPort}, relaying from ${list(addresses.relayIps)}, external-ip ${addresses.externalIp ?? 'none'}`;
}

/** The values of every `key` line, in file order. */
export function addressValues(text: string, key: AddressKey): string[] {
  const pattern = keyLine(key);
  return text.split('\n').flatMap((line) => {
    const match = pattern.exec(line);
    return match ? [match[1]!] : [];
  });
}

export const externalIpValues = (text: string): string[] => addressValues(text, 'external-ip');

const sameAddress = (a: string, b: string) => addressKey(a) === addressKey(b);

/** The file with exactly one `external-ip=ip` line (or none for null); unchanged when already so. */
export const setExternalIp = (text: string, ip: string | null): string => setAddress(text, 'external-ip', ip);

/** The file with exactly one `relay-ip=ip` line (the guide: "change the line that begins relay-ip="). */
export const setRelayIp = (text: string, ip: string): string => setAddress(text, 'relay-ip', ip);

/** The file with exactly one `key=ip` line (or none for null); unchanged when already so. */
function setAddress(text: string, key: AddressKey, ip: string | null): string {
  const pattern = keyLine(key);
  const lines = text.split('\n');
  const owned = lines.flatMap((line, index) => {
    const match = pattern.exec(line);
    return match ? [{ index, value: match[1]!, cr: match[2]! }] : [];
  });
  if (ip === null) {
    if (owned.length === 0) return text;
    const drop = new Set(owned.map((o) => o.index));
    return lines.filter((_, index) => !drop.has(index)).join('\n');
  }
  const [first, ...extra] = owned;
  if (first === undefined) {
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const body = text === '' || text.endsWith('\n') ? text : `${text}${eol}`;
    return `${body}${key}=${ip}${eol}`;
  }
  if (extra.length === 0 && sameAddress(first.value, ip)) return text;
  const drop = new Set(extra.map((o) => o.index));
  return lines
    .map((line, index) => (index === first.index ? `${key}=${ip}${first.cr}` : line))
    .filter((_, index) => !drop.has(index))
    .join('\n');
}
