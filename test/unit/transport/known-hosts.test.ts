import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostKeyAlgorithms } from '../../../src/transport/host-key.js';
import { matchPatternList } from '../../../src/transport/host-patterns.js';
import {
  appendKnownHost,
  fingerprint,
  KnownHosts,
  keyTypeOf,
  knownHostsName,
  parseKnownHosts,
} from '../../../src/transport/known-hosts.js';

const work = mkdtempSync(join(tmpdir(), 'rpctl-known-hosts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let keyCount = 0;
/** A real public key from ssh-keygen: [type, base64 blob]. */
function newKey(type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): {
  type: string;
  base64: string;
  blob: Buffer;
  path: string;
} {
  const path = join(work, `key${keyCount++}`);
  // 1024-bit RSA: the default 3072 bits take over 5 s on the loaded cores; the fingerprint is the same code
  const bits = type === 'rsa' ? ['-b', '1024'] : [];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-f', path]);
  const [keyType, base64] = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/);
  return { type: keyType!, base64: base64!, blob: Buffer.from(base64!, 'base64'), path: `${path}.pub` };
}

let fileCount = 0;
function knownHostsFile(text: string): string {
  const path = join(work, `known_hosts_${fileCount++}`);
  writeFileSync(path, text);
  return path;
}

const ed = newKey('ed25519');
const ecdsa = newKey('ecdsa');
const other = newKey('ed25519');

describe('fingerprint', () => {
  it.each(['ed25519', 'ecdsa', 'rsa'] as const)('equals ssh-keygen -lf for a %s key', (type) => {
    const key = type === 'ed25519' ? ed : type === 'ecdsa' ? ecdsa : newKey('rsa');
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', key.path], { encoding: 'utf8' });
    expect(fingerprint(key.blob)).toBe(printed.split(' ')[1]);
    expect(keyTypeOf(key.blob)).toBe(key.type);
  });
});

describe('host patterns', () => {
  it('matches globs case-insensitively and lets a negation win', () => {
    expect(matchPatternList('RP1.example.com', ['*.example.com'])).toBe('match');
    expect(matchPatternList('rp1.example.com', ['rp?.example.com'])).toBe('match');
    expect(matchPatternList('rp10.example.com', ['rp?.example.com'])).toBe('none');
    expect(matchPatternList('bad.example.com', ['*.example.com', '!bad.*'])).toBe('negated');
    expect(matchPatternList('a.b', ['a+b'])).toBe('none'); // regex characters are literal
  });
});

describe('KnownHosts', () => {
  it('finds plain entries, comma lists and [host]:port entries', () => {
    const file = knownHostsFile(
      [
        '# comment',
        '',
        `rp1.example.com,10.0.0.1 ${ed.type} ${ed.base64}`,
        `[10.0.0.2]:2222 ${ecdsa.type} ${ecdsa.base64} root@rp2`,
      ].join('\n'),
    );
    const known = KnownHosts.load([file]);
    expect(known.lookup('10.0.0.1', 22).map((k) => k.line)).toEqual([3]);
    expect(known.lookup('RP1.example.com', 22)).toHaveLength(1);
    expect(known.lookup('10.0.0.1', 2222)).toEqual([]);
    expect(known.lookup('10.0.0.2', 2222)[0]).toMatchObject({ keyType: ecdsa.type, file, line: 4 });
    expect(known.lookup('10.0.0.2', 22)).toEqual([]);
    expect(knownHostsName('Host', 22)).toBe('host');
    expect(knownHostsName('10.0.0.2', 2222)).toBe('[10.0.0.2]:2222');
  });

  it('honours wildcards and negation', () => {
    const file = knownHostsFile(`*.dmz.example.com,!rp9.dmz.example.com ${ed.type} ${ed.base64}\n`);
    const known = KnownHosts.load([file]);
    expect(known.check('rp1.dmz.example.com', 22, ed.type, ed.blob).status).toBe('match');
    expect(known.check('rp9.dmz.example.com', 22, ed.type, ed.blob).status).toBe('unknown');
    expect(known.check('rp1.example.com', 22, ed.type, ed.blob).status).toBe('unknown');
  });

  it('reads entries hashed by ssh-keygen -H, on port 22 and others', () => {
    const file = knownHostsFile(
      `rp1.example.com ${ed.type} ${ed.base64}\n[rp2.example.com]:2222 ${ecdsa.type} ${ecdsa.base64}\n`,
    );
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('example.com');
    expect(text.startsWith('|1|')).toBe(true);
    const known = KnownHosts.load([file]);
    expect(known.check('rp1.example.com', 22, ed.type, ed.blob).status).toBe('match');
    expect(known.check('rp2.example.com', 2222, ecdsa.type, ecdsa.blob).status).toBe('match');
    expect(known.check('rp2.example.com', 22, ecdsa.type, ecdsa.blob).status).toBe('unknown');
  });

  it('reports a mismatch with every expected key and its file:line', () => {
    const file = knownHostsFile(`rp1 ${ed.type} ${ed.base64}\nrp1 ${ecdsa.type} ${ecdsa.base64}\n`);
    const result = KnownHosts.load([file]).check('rp1', 22, other.type, other.blob);
    expect(result).toEqual({
      status: 'mismatch',
      expected: [
        expect.objectContaining({ fingerprint: fingerprint(ed.blob), file, line: 1 }),
        expect.objectContaining({ fingerprint: fingerprint(ecdsa.blob), file, line: 2 }),
      ],
    });
  });

  it('treats a key of a type not recorded for a known host as a mismatch, not as unknown', () => {
    const file = knownHostsFile(`rp1 ${ed.type} ${ed.base64}\n`);
    expect(KnownHosts.load([file]).check('rp1', 22, ecdsa.type, ecdsa.blob).status).toBe('mismatch');
  });

  it('refuses a revoked key even when it is also listed for the host', () => {
    const file = knownHostsFile(
      `rp1 ${ed.type} ${ed.base64}\n@revoked * ${ed.type} ${ed.base64}\nrp1 ${ecdsa.type} ${ecdsa.base64}\n`,
    );
    const known = KnownHosts.load([file]);
    expect(known.check('rp1', 22, ed.type, ed.blob)).toMatchObject({ status: 'revoked', key: { line: 2 } });
    expect(known.check('rp1', 22, ecdsa.type, ecdsa.blob).status).toBe('match');
    expect(known.lookup('rp1', 22).map((k) => k.keyType)).toEqual([ed.type, ecdsa.type]);
  });

  it('ignores @cert-authority lines and malformed lines without failing', () => {
    const file = knownHostsFile(
      [
        `@cert-authority *.example.com ${ed.type} ${ed.base64}`,
        'rp1 ssh-ed25519',
        `rp1 ssh-rsa ${ed.base64}`, // type field and blob disagree
        '|1|notbase64!|x ssh-ed25519 AAAA',
        `rp1 ${ecdsa.type} ${ecdsa.base64}`,
      ].join('\n'),
    );
    expect(parseKnownHosts(readFileSync(file, 'utf8'), file).map((e) => e.line)).toEqual([5]);
    expect(KnownHosts.load([file]).check('rp1.example.com', 22, ed.type, ed.blob).status).toBe('unknown');
  });

  it('looks in every file, in order; a missing file counts as empty', () => {
    const first = knownHostsFile(`rp1 ${ed.type} ${ed.base64}\n`);
    const second = knownHostsFile(`rp2 ${ecdsa.type} ${ecdsa.base64}\n`);
    const known = KnownHosts.load([join(work, 'missing'), first, second]);
    expect(known.check('rp2', 22, ecdsa.type, ecdsa.blob)).toMatchObject({
      status: 'match',
      key: { file: second },
    });
  });
});

describe('appendKnownHost', () => {
  it('creates the directory 0700 and the file 0600, and the next check matches', () => {
    const file = join(work, 'fresh', 'ssh', 'known_hosts');
    const key = appendKnownHost(file, '10.1.1.1', 22, ed.type, ed.blob);
    expect(key).toMatchObject({ file, line: 1, fingerprint: fingerprint(ed.blob) });
    expect(statSync(join(work, 'fresh', 'ssh')).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(`10.1.1.1 ${ed.type} ${ed.base64}\n`);
    expect(KnownHosts.load([file]).check('10.1.1.1', 22, ed.type, ed.blob).status).toBe('match');
  });

  it('adds a newline to a file whose last line has none, and counts lines right', () => {
    const file = knownHostsFile(`rp1 ${ed.type} ${ed.base64}`);
    const key = appendKnownHost(file, 'rp2', 2222, ecdsa.type, ecdsa.blob);
    expect(key.line).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe(
      `rp1 ${ed.type} ${ed.base64}\n[rp2]:2222 ${ecdsa.type} ${ecdsa.base64}\n`,
    );
  });

  it('writes hashed entries that OpenSSH finds (ssh-keygen -F)', () => {
    const file = knownHostsFile('');
    appendKnownHost(file, 'rp3.example.com', 2222, ed.type, ed.blob, { hash: true });
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 /);
    expect(text).not.toContain('rp3');
    const found = execFileSync('ssh-keygen', ['-F', '[rp3.example.com]:2222', '-f', file], {
      encoding: 'utf8',
    });
    expect(found).toContain(ed.base64);
    expect(KnownHosts.load([file]).check('rp3.example.com', 2222, ed.type, ed.blob).status).toBe('match');
  });

  it('is seen by a KnownHosts loaded before the append (same run)', () => {
    const file = knownHostsFile(`rp1 ${ed.type} ${ed.base64}\n`);
    const known = KnownHosts.load([file]);
    expect(known.check('rp4', 22, other.type, other.blob).status).toBe('unknown');
    known.add('rp4', 22, other.type, other.blob);
    expect(known.check('rp4', 22, other.type, other.blob)).toMatchObject({
      status: 'match',
      key: { line: 2 },
    });
  });
});

describe('hostKeyAlgorithms', () => {
  it('offers the algorithms of the recorded key types first', () => {
    const file = knownHostsFile(`rp1 ${ecdsa.type} ${ecdsa.base64}\n`);
    const algorithms = hostKeyAlgorithms(KnownHosts.load([file]).lookup('rp1', 22));
    expect(algorithms[0]).toBe('ecdsa-sha2-nistp256');
    expect(algorithms).toContain('ssh-ed25519');
    expect(hostKeyAlgorithms([])[0]).toBe('ssh-ed25519');
  });
});
