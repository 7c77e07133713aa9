/**
 * OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): plain and hashed
 * (`|1|salt|hmac-sha1`) host fields, comma lists, `[host]:port` for ports other than 22, wildcards,
 * `!` negation, `@revoked` keys (refused even when also listed) and `@cert-authority` lines (ignored:
 * rpctl does not accept host certificates).
 *
 *   const known = KnownHosts.load(['/home/ops/.ssh/known_hosts']);
 *   known.check('rp1.example.com', 22, 'ssh-ed25519', blob)   // { status: 'match', ... }
 *   appendKnownHost(file, 'rp1.example.com', 2222, 'ssh-ed25519', blob, { hash: true });
 *
 * Parsed files are cached per path (keyed by mtime and size), so a fleet-sized run parses each file
 * once however many hosts it checks.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { matchPatternList } from './host-patterns.js';

/** A key known for a host, with where it is written (for messages such as "known_hosts:12"). */
export interface KnownKey {
  keyType: string;
  keyBlob: Buffer;
  /** `SHA256:...` exactly as `ssh-keygen -l` prints it */
  fingerprint: string;
  file: string;
  line: number;
}

export type HostKeyCheck =
  | { status: 'match'; key: KnownKey }
  /** the host is known with other keys: `expected` lists them all */
  | { status: 'mismatch'; expected: KnownKey[] }
  | { status: 'unknown' }
  | { status: 'revoked'; key: KnownKey };

type HostField = { kind: 'hashed'; salt: Buffer; hash: Buffer } | { kind: 'patterns'; patterns: string[] };

interface KnownHostEntry extends KnownKey {
  revoked: boolean;
  host: HostField;
}

interface ParsedFile {
  mtimeMs: number;
  size: number;
  /** lines in the file, counting an unterminated last line */
  lineCount: number;
  endsWithNewline: boolean;
  entries: KnownHostEntry[];
  /**
   * Entries matching a `knownHostsName`: a hashed line costs one HMAC per lookup, so each name is
   * looked up once per file version (host-key ordering, verification and re-keys reuse it).
   */
  matches: Map<string, KnownHostEntry[]>;
}

/** OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the SHA-256 of the key blob. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside a public key blob (its first SSH string), e.g. `ssh-ed25519`. */
export function keyTypeOf(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > keyBlob.length) return undefined;
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/** The name a host is recorded under: `host` on port 22, `[host]:port` otherwise (lower case). */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

function hashHostName(salt: Buffer, name: string): Buffer {
  return createHmac('sha1', salt).update(name).digest();
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parseHostField(field: string): HostField | undefined {
  if (field.startsWith('|1|')) {
    const [salt, hash] = field.slice(3).split('|');
    if (!salt || !hash || !BASE64.test(salt) || !BASE64.test(hash)) return undefined;
    return { kind: 'hashed', salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
  }
  if (field.startsWith('|')) return undefined; // an unknown hash format
  return { kind: 'patterns', patterns: field.split(',').filter((p) => p !== '') };
}

/** Parse known_hosts text; lines that are not valid entries are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/[ \t]+/);
    if (fields[0] === '' || fields[0]?.startsWith('#')) return;
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@revoked') revoked = true;
      else return; // @cert-authority (host certificates are not accepted) or an unknown marker
    }
    const [hostText, keyType, keyBase64] = fields;
    if (!hostText || !keyType || !keyBase64 || !BASE64.test(keyBase64)) return;
    const host = parseHostField(hostText);
    const keyBlob = Buffer.from(keyBase64, 'base64');
    if (!host || keyTypeOf(keyBlob) !== keyType) return;
    entries.push({
      revoked,
      host,
      keyType,
      keyBlob,
      fingerprint: fingerprint(keyBlob),
      file,
      line: index + 1,
    });
  });
  return entries;
}

const cache = new Map<string, ParsedFile>();

function parseFile(path: string, stats: { mtimeMs: number; size: number }): ParsedFile {
  const text = readFileSync(path, 'utf8');
  const endsWithNewline = text === '' || text.endsWith('\n');
  return {
    mtimeMs: stats.mtimeMs,
    size: stats.size,
    lineCount: text.split('\n').length - (endsWithNewline ? 1 : 0),
    endsWithNewline,
    entries: parseKnownHosts(text, path),
    matches: new Map(),
  };
}

function loadFile(path: string): ParsedFile {
  let stats: { mtimeMs: number; size: number };
  try {
    stats = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { mtimeMs: -1, size: 0, lineCount: 0, endsWithNewline: true, entries: [], matches: new Map() };
  }
  const cached = cache.get(path);
  if (cached && cached.mtimeMs === stats.mtimeMs && cached.size === stats.size) return cached;
  const parsed = parseFile(path, stats);
  cache.set(path, parsed);
  return parsed;
}

/** Whether an entry's host field matches `name` (a knownHostsName), plain or hashed. */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.host.kind === 'patterns') return matchPatternList(name, entry.host.patterns) === 'match';
  const digest = hashHostName(entry.host.salt, name);
  return digest.length === entry.host.hash.length && timingSafeEqual(digest, entry.host.hash);
}

function matchingEntries(parsed: ParsedFile, name: string): KnownHostEntry[] {
  let found = parsed.matches.get(name);
  if (found === undefined) {
    found = parsed.entries.filter((entry) => entryMatches(entry, name));
    parsed.matches.set(name, found);
  }
  return found;
}

function publicKey({ keyType, keyBlob, fingerprint, file, line }: KnownHostEntry): KnownKey {
  return { keyType, keyBlob, fingerprint, file, line };
}

/** The known_hosts files of one connection, in order (new keys are appended to the first). */
export class KnownHosts {
  private constructor(readonly files: readonly string[]) {}

  /** Files that do not exist count as empty; unreadable ones throw. */
  static load(files: readonly string[]): KnownHosts {
    for (const file of files) loadFile(file);
    return new KnownHosts(files);
  }

  private matching(host: string, port: number): KnownHostEntry[] {
    const name = knownHostsName(host, port);
    return this.files.flatMap((file) => matchingEntries(loadFile(file), name));
  }

  /** Keys recorded for this host (revoked ones excluded), in file order. */
  lookup(host: string, port: number): KnownKey[] {
    return this.matching(host, port)
      .filter((entry) => !entry.revoked)
      .map(publicKey);
  }

  /**
   * Compare the key a server offered with what is recorded. A key of another type than the ones
   * recorded for a known host is a `mismatch`, not `unknown`: accepting it on first use would let a
   * server that lost (or never had) its recorded key pass with any key at all.
   */
  check(host: string, port: number, keyType: string, keyBlob: Buffer): HostKeyCheck {
    const entries = this.matching(host, port);
    const revoked = entries.find((entry) => entry.revoked && entry.keyBlob.equals(keyBlob));
    if (revoked) return { status: 'revoked', key: publicKey(revoked) };
    const known = entries.filter((entry) => !entry.revoked);
    const same = known.find((entry) => entry.keyType === keyType && entry.keyBlob.equals(keyBlob));
    if (same) return { status: 'match', key: publicKey(same) };
    if (known.length === 0) return { status: 'unknown' };
    return { status: 'mismatch', expected: known.map(publicKey) };
  }

  /** Record a key for the host in the first file (trust on first use). */
  add(
    host: string,
    port: number,
    keyType: string,
    keyBlob: Buffer,
    options: { hash?: boolean } = {},
  ): KnownKey {
    const file = this.files[0];
    if (file === undefined) throw new Error('no known_hosts file to record the host key in');
    return appendKnownHost(file, host, port, keyType, keyBlob, options);
  }
}

/**
 * Append an entry to a known_hosts file, creating the file (0600) and its directory (0700) when
 * they do not exist. With `hash`, the host name is written as `|1|salt|hmac` like HashKnownHosts.
 */
export function appendKnownHost(
  file: string,
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
  options: { hash?: boolean } = {},
): KnownKey {
  if (keyTypeOf(keyBlob) !== keyType) throw new Error(`the host key blob is not of type ${keyType}`);
  const name = knownHostsName(host, port);
  let hostField = name;
  let matcher: HostField = { kind: 'patterns', patterns: [name] };
  if (options.hash) {
    const salt = randomBytes(20);
    const hash = hashHostName(salt, name);
    hostField = `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
    matcher = { kind: 'hashed', salt, hash };
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const before = loadFile(file);
  const separator = before.endsWithNewline ? '' : '\n';
  appendFileSync(file, `${separator}${hostField} ${keyType} ${keyBlob.toString('base64')}\n`, {
    mode: 0o600,
  });
  const entry: KnownHostEntry = {
    revoked: false,
    host: matcher,
    keyType,
    keyBlob,
    fingerprint: fingerprint(keyBlob),
    file,
    line: before.lineCount + 1,
  };
  // Keep the cache in step, so the rest of the run sees the key without parsing the file again.
  const after = statSync(file);
  cache.set(file, {
    mtimeMs: after.mtimeMs,
    size: after.size,
    lineCount: before.lineCount + 1,
    endsWithNewline: true,
    entries: [...before.entries, entry],
    matches: new Map(),
  });
  return publicKey(entry);
}

/** Drop a file's parsed entries, after it was rewritten other than by appending. */
export function forgetParsed(file: string): void {
  cache.delete(file);
}
