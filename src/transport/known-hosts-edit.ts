/**
 * Editing a known_hosts file for one host: the entries naming exactly that host (one plain name,
 * or a hashed name) are its own; every other line stays byte for byte. Used when an install
 * replaces the host keys the appliance's wizard regenerated (src/engine/reboot.ts).
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { entryMatches, forgetParsed, type KnownKey, knownHostsName, parseKnownHosts } from './known-hosts.js';

/** Entries naming exactly this host: one plain name, or a hashed name (not @revoked). */
function ownEntryLines(text: string, file: string, host: string, port: number): Map<number, KnownKey> {
  const name = knownHostsName(host, port);
  const own = new Map<number, KnownKey>();
  text.split('\n').forEach((line, index) => {
    const [entry] = parseKnownHosts(line, file);
    if (!entry || entry.revoked) return;
    const onlyThisHost =
      entry.host.kind === 'hashed'
        ? entryMatches(entry, name)
        : entry.host.patterns.length === 1 && entry.host.patterns[0]!.toLowerCase() === name;
    if (onlyThisHost) {
      const { keyType, keyBlob, fingerprint } = entry;
      own.set(index, { keyType, keyBlob, fingerprint, file, line: index + 1 });
    }
  });
  return own;
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The keys of the entries naming exactly this host in a known_hosts file. */
export function ownHostKeys(file: string, host: string, port: number): KnownKey[] {
  const text = readIfExists(file);
  return text === undefined ? [] : [...ownEntryLines(text, file, host, port).values()];
}

/**
 * Remove the entries naming exactly this host (one plain name, or a hashed name) from a known_hosts
 * file, every other line kept byte for byte; returns the keys removed. Lines that also name other
 * hosts, match through a wildcard or are @revoked stay: they are the user's to edit.
 */
export function removeHostEntries(file: string, host: string, port: number): KnownKey[] {
  const text = readIfExists(file);
  if (text === undefined) return [];
  const own = ownEntryLines(text, file, host, port);
  if (own.size > 0) {
    const kept = text.split('\n').filter((_line, index) => !own.has(index));
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, kept.join('\n'), { mode: statSync(file).mode & 0o777 });
    renameSync(tmp, file);
    forgetParsed(file);
  }
  return [...own.values()];
}
