/**
 * Value types of the inventory, shared by the core schema and every recipe section. Each one
 * accepts exactly its syntax and nothing else, so a value that later reaches a remote shell (still
 * quoted by src/transport/shell.ts) can never carry `;`, `$(...)`, quotes or a newline.
 *
 *   nodes: z.array(host).min(1)        listenPort: port        bantime: intRange(1, 86_400)
 *
 * Predicates (`isIPv4`, ...) and parsers (`parseSerial`, `parseJumpHost`) are exported too, for
 * command-line flags that take the same values.
 */
import { isIPv4 as netIsIPv4, isIPv6 as netIsIPv6 } from 'node:net';
import { z } from 'zod';
import type { JumpHost, Serial } from './model.js';

/** Show a rejected value in a message: quoted, escaped (a newline shows as \n) and short. */
export function showValue(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** A string type checked by `problem`, which returns why a value is wrong (or undefined). */
function textType(problem: (value: string) => string | undefined, description: string, format?: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const reason = problem(value);
      if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
    })
    .meta(format ? { description, format } : { description });
}

// ---------------------------------------------------------------------------------------------
// Predicates

// The character whitelists keep zone ids (`fe80::1%eth0`) and anything else exotic out.
export const isIPv4 = (s: string): boolean => /^[0-9.]{7,15}$/.test(s) && netIsIPv4(s);
export const isIPv6 = (s: string): boolean => /^[0-9A-Fa-f:.]{2,45}$/.test(s) && netIsIPv6(s);
export const isIpAddress = (s: string): boolean => isIPv4(s) || isIPv6(s);

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** One DNS label (RFC 1123): letters, digits and inner hyphens, at most 63 characters. */
export const isHostnameLabel = (s: string): boolean => LABEL.test(s);

/** An RFC 1123 host name: dot-separated labels, at most 253 characters; not all-numeric. */
export function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  if (!labels.every((label) => LABEL.test(label))) return false;
  // `10.0.0.300` is a mistyped address, not a host name.
  return !labels.every((label) => /^[0-9]+$/.test(label));
}

export const isHost = (s: string): boolean => isIpAddress(s) || isHostname(s);

/** A host as ssh takes it: an address, a host name, or a ~/.ssh/config alias (which may hold `_`). */
export function isSshHost(s: string): boolean {
  if (isHost(s)) return true;
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/.test(s) && !/^[0-9.]+$/.test(s);
}

/** `address/prefix`, IPv4 (0-32) or IPv6 (0-128). */
export function cidrProblem(s: string): string | undefined {
  const match = /^([^/]+)\/([0-9]{1,3})$/.exec(s);
  const invalid = `${showValue(s)} is not a CIDR network (address/prefix, e.g. 10.0.0.0/24)`;
  if (!match) return invalid;
  const [, address = '', prefixText = ''] = match;
  const prefix = Number(prefixText);
  const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : undefined;
  if (max === undefined) return invalid;
  if (prefix > max || (prefixText.length > 1 && prefixText.startsWith('0'))) {
    return `${showValue(s)}: the prefix must be 0-${max} for an IPv${max === 32 ? 4 : 6} network`;
  }
  return undefined;
}
export const isCidr = (s: string): boolean => cidrProblem(s) === undefined;

/** A dotted-quad netmask whose one bits are contiguous (255.255.255.0, not 255.0.255.0). */
export function isNetmask(s: string): boolean {
  if (!isIPv4(s)) return false;
  const bits = s.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const inverted = 0xffffffff - bits;
  // the host part of a contiguous mask is 2^k - 1
  return (inverted & (inverted + 1)) === 0;
}

/** A login name: portable POSIX user name characters, not starting with `-` (ssh would read an option). */
export const isUserName = (s: string): boolean => /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(s);

/** An absolute path on an appliance, one line, no NUL. */
export const isRemotePath = (s: string): boolean => /^\/[^\0\n\r]*$/.test(s) && s.length <= 4096;

// ---------------------------------------------------------------------------------------------
// Parsers for the values that have structure

export const SERIAL_HINT = 'expected a number of hosts (N, at least 1) or a percentage (N%, 1-100%)';

/** `N` (hosts) or `N%` (of the selected hosts); undefined when invalid. */
export function parseSerial(value: string | number): Serial | undefined {
  if (typeof value === 'number')
    return Number.isSafeInteger(value) && value >= 1 ? { count: value } : undefined;
  const match = /^([0-9]{1,9})(%?)$/.exec(value.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  if (match[2] === '%') return n >= 1 && n <= 100 ? { percent: n } : undefined;
  return n >= 1 ? { count: n } : undefined;
}

export const JUMP_HOST_HINT = 'expected [user@]host[:port], e.g. pexip@bastion.example.com:2222';

/** `[user@]host[:port]`, with an IPv6 host in brackets (`[2001:db8::1]:22`); undefined when invalid. */
export function parseJumpHost(text: string): JumpHost | undefined {
  const match = /^(?:([^@]+)@)?(?:\[([^\]]+)\]|([^:@[\]]+))(?::([0-9]{1,5}))?$/.exec(text);
  if (!match) return undefined;
  const [, user, bracketed, plain, portText] = match;
  const host = bracketed ?? plain ?? '';
  if (bracketed !== undefined ? !isIPv6(host) : !isSshHost(host)) return undefined;
  if (user !== undefined && !isUserName(user)) return undefined;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return {
    host,
    ...(port === undefined ? {} : { port }),
    ...(user === undefined ? {} : { user }),
  };
}

// ---------------------------------------------------------------------------------------------
// Zod types

const unless = (ok: (s: string) => boolean, what: string) => (s: string) =>
  ok(s) ? undefined : `${showValue(s)} is not ${what}`;

export const ipv4 = textType(unless(isIPv4, 'an IPv4 address (a.b.c.d)'), 'an IPv4 address', 'ipv4');
export const ipv6 = textType(unless(isIPv6, 'an IPv6 address'), 'an IPv6 address', 'ipv6');
export const ipAddress = textType(unless(isIpAddress, 'an IPv4 or IPv6 address'), 'an IPv4 or IPv6 address');
export const hostname = textType(
  unless(isHostname, 'a valid host name (letters, digits, hyphens; dot-separated labels of 1-63)'),
  'a DNS host name (RFC 1123)',
  'hostname',
);
export const hostnameLabel = textType(
  unless(isHostnameLabel, 'a valid host name label (letters, digits, inner hyphens; 1-63 characters)'),
  'a single DNS label (RFC 1123), without the domain',
);
export const host = textType(
  unless(isHost, 'an IP address or a valid host name'),
  'an IPv4/IPv6 address or a DNS host name',
);
export const sshHost = textType(
  unless(isSshHost, 'an IP address, host name or ~/.ssh/config alias'),
  'an IPv4/IPv6 address, a DNS host name or a ~/.ssh/config Host alias',
);
export const cidr = textType(cidrProblem, 'a network in CIDR notation: address/prefix, e.g. 10.0.0.0/24');
export const netmask = textType(
  unless(isNetmask, 'a netmask (a contiguous dotted quad such as 255.255.255.0)'),
  'an IPv4 netmask such as 255.255.255.0',
);
export const userName = textType(unless(isUserName, 'a valid user name'), 'a login user name');
export const remotePath = textType(
  unless(isRemotePath, 'an absolute path on the appliance (one line)'),
  'an absolute path on the appliance',
);

/** A path on this machine (a key, known_hosts); relative paths are resolved against the inventory's directory. */
export const localPath = textType(
  (s) => (s.length > 0 && !/[\0\n\r]/.test(s) ? undefined : `${showValue(s)} is not a usable file path`),
  'a path on this machine; relative to the inventory file, ~ expands to the home directory',
);

/** An integer in [min, max]. */
export function intRange(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.int({ error: message }).min(min, message).max(max, message);
}

export const port = intRange(1, 65535).meta({ description: 'a TCP/UDP port number (1-65535)' });

export const serial = z
  .union([z.number(), z.string()])
  .transform((value, ctx): Serial => {
    const parsed = parseSerial(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `${showValue(String(value))}: ${SERIAL_HINT}` });
      return z.NEVER;
    }
    return parsed;
  })
  .meta({ description: 'a number of hosts (N) or a percentage of them (N%) handled at a time' });

export const jumpHost = z
  .string()
  .transform((text, ctx): JumpHost => {
    const parsed = parseJumpHost(text);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `${showValue(text)}: ${JUMP_HOST_HINT}` });
      return z.NEVER;
    }
    return parsed;
  })
  .meta({ description: 'an SSH jump host: [user@]host[:port]' });

/**
 * A section of the inventory (`upstreams`, `turn`, ...) with its schema: a concern declares it, the
 * inventory validates the merged value of every appliance with it.
 */
export interface InventorySection {
  key: string;
  description: string;
  schema: z.ZodType;
}
