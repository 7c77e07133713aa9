import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { filesOnStdin, RECEIVE_FAILED_EXIT } from '../../../src/transport/stdin-files.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** Run the receiving script with a local sh, then `rest` (what the apply script would do next). */
function receive(dir: string, files: Parameters<typeof filesOnStdin>[1], stdin?: Buffer, rest = 'echo rest') {
  const sent = filesOnStdin(dir, files);
  const run = spawnSync('sh', ['-c', `${sent.receive.text}\n${rest}`], { input: stdin ?? sent.stdin });
  return { ...run, sent };
}

function newDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'rpctl-stdin-'));
  roots.push(root);
  return join(root, 'upload');
}

describe('files on stdin', () => {
  const files = [
    { name: 'file-0', content: 'server { listen 443; }\n' },
    { name: 'empty', content: '' },
    { name: 'key', content: Buffer.from([0, 1, 2, 255, 10, 10]) },
  ];

  it('writes every file whole into a new 0700 directory, then lets the command go on', () => {
    const dir = newDir();
    const run = receive(dir, files);
    expect(run.status).toBe(0);
    expect(run.stdout.toString()).toBe('rest\n');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).sort()).toEqual(['empty', 'file-0', 'key']);
    for (const f of files) {
      expect(readFileSync(join(dir, f.name))).toEqual(Buffer.from(f.content));
      expect(statSync(join(dir, f.name)).mode & 0o777).toBe(0o600);
    }
  });

  it('keeps contents off the command: only names and lengths are in the script', () => {
    const { receive: script, stdin } = filesOnStdin('/tmp/d', [{ name: 'turn-pw', content: 's3cr3t-Pa55' }]);
    expect(script.text).not.toContain('s3cr3t');
    expect(script.text).toContain('head -c 11 > /tmp/d/turn-pw');
    expect(stdin.toString()).toBe('s3cr3t-Pa55');
  });

  it('fails (and removes what it wrote) when the stream is cut short; the command does not go on', () => {
    const dir = newDir();
    const full = filesOnStdin(dir, files).stdin;
    const run = receive(dir, files, full.subarray(0, full.length - 2));
    expect(run.status).toBe(RECEIVE_FAILED_EXIT);
    expect(run.stdout.toString()).toBe('');
    expect(run.stderr.toString()).toContain(`receiving 3 file(s) into ${dir} failed`);
    expect(() => statSync(dir)).toThrow();
  });

  it('refuses a directory that already exists and writes nothing into it', () => {
    const dir = newDir();
    receive(dir, []);
    const run = receive(dir, files);
    expect(run.status).toBe(RECEIVE_FAILED_EXIT);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses names that are not plain file names', () => {
    expect(() => filesOnStdin('/tmp/d', [{ name: '../x', content: '' }])).toThrow(/not a unique plain/);
    expect(() => filesOnStdin('relative', [])).toThrow(/not an absolute path/);
  });
});
