/**
 * The NICs and routes a host really has, from `ip -j addr show` and `ip -j -4 route show` (iproute2
 * 4.13 and later), or from `ip -o addr show` / `ip -4 route show` text where -j is missing: the
 * fact commands try JSON first and fall back to text, and these parsers read either.
 *
 *   parseAddresses(out).get('eth1')  -> { name: 'eth1', up: true, ipv4: ['198.51.100.130/25'] }
 *   parseRoutes(out)                 -> [{ to: 'default', via: '198.51.100.129', dev: 'eth1' }, ...]
 */
import { sh } from '../../src/engine/contract.js';

export const ADDRESSES_FACT = 'network.addresses';
export const ROUTES_FACT = 'network.routes';

export const ipFactCommands = [
  { id: ADDRESSES_FACT, command: sh`ip -j addr show 2>/dev/null || ip -o addr show` },
  { id: ROUTES_FACT, command: sh`ip -j -4 route show table main 2>/dev/null || ip -4 route show table main` },
] as const;

export interface NicState {
  name: string;
  /** administratively up (the UP flag); undefined when the text form does not say */
  up?: boolean;
  /** `address/prefix`, in the order the kernel lists them */
  ipv4: string[];
}

export interface RouteState {
  /** `default` or `network/prefix` */
  to: string;
  via?: string;
  dev?: string;
}

function json(output: string): unknown[] | undefined {
  const text = output.trim();
  if (!text.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

type Entry = Record<string, unknown>;

export function parseAddresses(output: string): Map<string, NicState> {
  const nics = new Map<string, NicState>();
  const parsed = json(output);
  if (parsed) {
    for (const link of parsed as Entry[]) {
      const name = String(link.ifname ?? '');
      const flags = Array.isArray(link.flags) ? link.flags.map(String) : [];
      const ipv4 = (Array.isArray(link.addr_info) ? (link.addr_info as Entry[]) : [])
        .filter((a) => a.family === 'inet')
        .map((a) => `${a.local}/${a.prefixlen}`);
      nics.set(name, { name, up: flags.includes('UP'), ipv4 });
    }
    return nics;
  }
  // 2: eth0    inet 10.40.0.11/24 brd 10.40.0.255 scope global eth0\       valid_lft ...
  for (const line of output.split('\n')) {
    const match = /^\d+:\s+([^\s:@]+)\S*\s+inet\s+(\S+)/.exec(line);
    if (!match) continue;
    const nic = nics.get(match[1]!) ?? { name: match[1]!, ipv4: [] };
    nic.ipv4.push(match[2]!.includes('/') ? match[2]! : `${match[2]}/32`);
    nics.set(nic.name, nic);
  }
  return nics;
}

const destination = (dst: string) => (dst === 'default' || dst.includes('/') ? dst : `${dst}/32`);

export function parseRoutes(output: string): RouteState[] {
  const parsed = json(output);
  if (parsed) {
    return (parsed as Entry[]).map((r) => ({
      to: destination(String(r.dst)),
      ...(typeof r.gateway === 'string' ? { via: r.gateway } : {}),
      ...(typeof r.dev === 'string' ? { dev: r.dev } : {}),
    }));
  }
  return output
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((words) => words[0])
    .map((words) => {
      const after = (key: string) => {
        const i = words.indexOf(key);
        return i >= 0 ? words[i + 1] : undefined;
      };
      const via = after('via');
      const dev = after('dev');
      return { to: destination(words[0]!), ...(via ? { via } : {}), ...(dev ? { dev } : {}) };
    });
}
