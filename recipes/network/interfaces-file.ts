/**
 * /etc/network/interfaces of a v4 appliance (ifupdown), exactly in the shape of the guide's
 * "Configuring a second NIC" / "Appendix 2", below the file's own header comments:
 *
 *   # >/etc/network/interfaces
 *   # Written at 2014-04-23 10:30:34 UTC by InterfacesFileWriter
 *   auto lo eth0 eth1
 *   iface lo inet loopback
 *
 *   iface eth0 inet static
 *      address 10.40.0.2
 *      netmask 255.255.255.0
 *
 *   iface eth1 inet static
 *      address 198.51.100.130
 *      netmask 255.255.255.128
 *      gateway 198.51.100.129
 *      dns-nameservers 8.8.8.8 8.8.4.4
 *
 *   post-up route add -net 10.0.50.0 netmask 255.255.255.0 gw 10.40.0.1
 *
 * The recipe owns the whole file: `parseInterfaces` reads the current one to say what it was and to
 * warn about anything the new file leaves out.
 */
import { netmaskOf, prefixOf } from './ipv4.js';
import type { NetworkDesired } from './schema.js';

export const V4_NICS = { internal: 'eth0', external: 'eth1' } as const;

/** The comment lines the file starts with (the wizard's "Written at ..." header), kept as they are. */
export function headerOf(text: string | undefined): string {
  const lines = (text ?? '').split('\n');
  const end = lines.findIndex((line) => !line.startsWith('#'));
  return lines
    .slice(0, end < 0 ? lines.length : end)
    .map((line) => `${line}\n`)
    .join('');
}

export function renderInterfaces(desired: NetworkDesired, header: string): string {
  const { internal, external } = desired;
  const { internal: int, external: ext } = V4_NICS;
  const lines = [
    `auto lo ${int} ${ext}`,
    'iface lo inet loopback',
    '',
    `iface ${int} inet static`,
    `   address ${internal.address}`,
    `   netmask ${netmaskOf(internal.prefix)}`,
    '',
    `iface ${ext} inet static`,
    `   address ${external.address}`,
    `   netmask ${netmaskOf(external.prefix)}`,
    `   gateway ${external.gateway}`,
    `   dns-nameservers ${external.dns.join(' ')}`,
  ];
  if (desired.routes.length > 0) {
    lines.push(
      '',
      ...desired.routes.map(
        (r) => `post-up route add -net ${r.address} netmask ${netmaskOf(r.prefix)} gw ${r.via}`,
      ),
    );
  }
  return `${header}${lines.join('\n')}\n`;
}

export interface InterfaceStanza {
  name: string;
  family: string;
  method: string;
  /** option lines in order: [keyword, rest of the line] */
  options: [string, string][];
}

export interface InterfacesFile {
  auto: string[];
  stanzas: InterfaceStanza[];
  /** other top-level lines (source, mapping, allow-hotplug, ...) */
  other: string[];
}

/**
 * ifupdown's reading of the file: options belong to the stanza above them, even after blank lines
 * (so the guide's bottom `post-up` lines belong to eth1).
 */
export function parseInterfaces(text: string | undefined): InterfacesFile {
  const file: InterfacesFile = { auto: [], stanzas: [], other: [] };
  let current: InterfaceStanza | undefined;
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [keyword = '', ...words] = line.split(/\s+/);
    if (keyword === 'auto') {
      file.auto.push(...words);
      current = undefined;
    } else if (keyword === 'iface') {
      const [name = '', family = '', method = ''] = words;
      current = { name, family, method, options: [] };
      file.stanzas.push(current);
    } else if (
      current &&
      !/^(source|source-directory|mapping|allow-\S+|no-auto-down|no-scripts)$/.test(keyword)
    ) {
      current.options.push([keyword, words.join(' ')]);
    } else {
      file.other.push(line);
      current = undefined;
    }
  }
  return file;
}

/** "eth0 10.40.0.11/24 gateway 10.40.0.1" for each configured static NIC. */
export function describeInterfaces(file: InterfacesFile): string {
  const described = file.stanzas
    .filter((s) => s.name !== 'lo')
    .map((s) => {
      const get = (key: string) => s.options.find(([k]) => k === key)?.[1];
      const address = get('address');
      const mask = get('netmask');
      const prefix = address?.includes('/') ? '' : mask ? `/${prefixOf(mask)}` : '';
      const gateway = get('gateway');
      return `${s.name} ${address ? `${address}${prefix}` : s.method}${gateway ? ` gateway ${gateway}` : ''}`;
    });
  return described.join(', ') || 'no NIC configured';
}

const MANAGED_OPTIONS = new Set(['address', 'netmask', 'gateway', 'dns-nameservers']);

/** What the current file configures that the rendered one will not: one line each, for warnings. */
export function droppedByRewrite(file: InterfacesFile): string[] {
  const managed = new Set<string>(['lo', V4_NICS.internal, V4_NICS.external]);
  const dropped = [
    ...file.auto.filter((name) => !managed.has(name)).map((name) => `auto ${name}`),
    ...file.other,
  ];
  for (const stanza of file.stanzas) {
    if (!managed.has(stanza.name)) {
      dropped.push(`iface ${stanza.name} ${stanza.family} ${stanza.method}`);
      continue;
    }
    for (const [key, value] of stanza.options) {
      const route = key === 'post-up' && /^route add -net /.test(value);
      if (!MANAGED_OPTIONS.has(key) && !route) dropped.push(`${stanza.name}: ${key} ${value}`);
    }
  }
  return dropped;
}
