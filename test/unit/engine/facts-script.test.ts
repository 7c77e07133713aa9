/**
 * The facts script run by a local shell (no SSH, no sudo): records come back in spec order and
 * with their own exit codes although the commands run at once and finish in another order; a file
 * read whole is hashed locally from the bytes read; a file read for certificates keeps the remote
 * hash of the whole file.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { factsBody, mergeFactSpecs, parseFacts } from '../../../src/engine/facts.js';
import { sh } from '../../../src/transport/shell.js';

const dir = mkdtempSync(join(tmpdir(), 'rpctl-facts-'));
const plain = join(dir, 'plain.conf');
const pem = join(dir, 'bundle.pem');
const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nsecret-key-bytes\n-----END PRIVATE KEY-----\n';
writeFileSync(plain, 'listen 443;\n');
writeFileSync(pem, CERT + KEY);

const spec = mergeFactSpecs([
  {
    files: [{ path: plain }, { path: pem, read: 'certificates' }, { path: join(dir, 'missing') }],
    commands: [
      { id: 'slow', command: sh`sleep 0.3; echo slow; exit 3` },
      { id: 'fast', command: sh`echo fast` },
      { id: 'stdin', command: sh`cat; echo "stdin closed"` },
      { id: 'costly', command: sh`echo costly`, afterChange: true },
    ],
  },
]);

function runFacts(tmp = mkdtempSync(join(dir, 'tmp-')), afterChange = false) {
  const result = spawnSync('bash', ['-c', factsBody(spec, { afterChange }).text], {
    encoding: 'utf8',
    input: 'not for facts',
    env: { ...process.env, TMPDIR: tmp },
  });
  expect(result.status).toBe(0);
  return { facts: parseFacts('local', spec, result.stdout), stdout: result.stdout };
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('facts script', () => {
  it('returns every command record in spec order with its own output and exit code', () => {
    const { facts, stdout } = runFacts();
    expect(facts.command('slow')).toEqual({ id: 'slow', code: 3, output: 'slow\n' });
    expect(facts.command('fast')).toEqual({ id: 'fast', code: 0, output: 'fast\n' });
    expect(facts.command('stdin')?.output).toBe('stdin closed\n');
    const order = [...stdout.matchAll(/^@cmd (\d+)/gm)].map((m) => m[1]);
    expect(order).toEqual(['0', '1', '2']);
  });

  it('hashes a whole file from the bytes read, and a certificate file remotely and whole', () => {
    const { facts, stdout } = runFacts();
    const whole = facts.file(plain);
    expect(whole.exists && whole.sha256).toBe(sha('listen 443;\n'));
    expect(stdout).toMatch(/^@file 0 present \d+ \S+ \S+ 12 -$/m);
    const bundle = facts.file(pem);
    expect(bundle.exists && bundle.sha256).toBe(sha(CERT + KEY));
    expect(bundle.exists && bundle.content.toString()).toBe(CERT);
    expect(stdout).not.toContain(Buffer.from(KEY).toString('base64').slice(0, 20));
    expect(facts.file(join(dir, 'missing')).exists).toBe(false);
  });

  it('reads an afterChange command only in the read that ends an apply', () => {
    expect(runFacts().facts.command('costly')).toBeUndefined();
    expect(runFacts(undefined, true).facts.command('costly')).toEqual({
      id: 'costly',
      code: 0,
      output: 'costly\n',
    });
    const both = mergeFactSpecs([
      { commands: [{ id: 'x', command: sh`true`, afterChange: true }] },
      { commands: [{ id: 'x', command: sh`true` }] },
    ]);
    expect(both.commands[0]?.afterChange).toBe(false);
  });

  it('leaves no temporary directory behind', () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    runFacts(tmp);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
