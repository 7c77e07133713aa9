/**
 * `rpctl cert` input handling in-process: every bad flag or certificate is one line on stderr, exit
 * 3, before any appliance is contacted (the inventory's appliance is a closed port: contacting it
 * would exit 1, not 3).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import { TestPki } from '../../certificates.js';
import { registry } from '../../registry.js';

const dir = mkdtempSync(join(tmpdir(), 'rpctl-cli-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pki = new TestPki(dir);
const good = pki.leaf('good', { names: ['rp1.example.com'] });
const expired = pki.leaf('expired', {
  names: ['rp1.example.com'],
  notBefore: new Date('2020-01-01T00:00:00Z'),
  notAfter: new Date('2021-01-01T00:00:00Z'),
});
const inventory = join(dir, 'inventory.yaml');
writeFileSync(
  inventory,
  `defaults:\n  domain: example.com\n  ssh:\n    port: 1\nappliances:\n  rp1:\n    host: 127.0.0.1\n    hostname: rp1\n`,
);

async function rpctl(...argv: string[]) {
  const buffers = bufferIo({ cwd: dir, env: { NO_COLOR: '1', HOME: dir, RPCTL_STATE_DIR: dir } });
  const code = await run(argv, buffers.io, registry);
  return { code, stdout: buffers.stdout(), stderr: buffers.stderr() };
}

const replace = (...argv: string[]) => rpctl('cert', 'replace', '-i', inventory, '--yes', ...argv);

describe('rpctl cert: refused input (exit 3, one line, nothing contacted)', () => {
  it.each([
    [
      ['--limit', 'rp1', '--pem', good.cert, '--cert', good.cert],
      '--pem and --cert/--key/--chain are alternatives',
    ],
    [['--limit', 'rp1', '--cert', good.cert], '--cert and --key go together'],
    [
      ['--limit', 'rp1', '--pem', 'missing.pem'],
      '--pem missing.pem: the file does not exist or cannot be read',
    ],
    [
      ['--pem', good.cert],
      "cert replace: --limit is required: name the appliances to change (names, groups, globs; '*' for all)",
    ],
    [['--limit', 'rp1', '--save'], '--save needs the certificate to save'],
    [['--limit', 'rp1'], 'rp1: no certificate section in the inventory: pass --pem FILE'],
    [
      ['--limit', 'rp1', '--cert', good.key, '--key', good.key],
      `rp1: certificate: ${good.key}: holds a private key; give the key separately`,
    ],
    [
      ['--limit', 'rp1', '--pem', pki.file('expired.pem', expired.certPem, expired.keyPem)],
      'rp1: certificate: file:',
    ],
  ])('cert replace %j', async (argv, message) => {
    const { code, stderr, stdout } = await replace(...argv);
    expect(code).toBe(3);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });

  it('cert rollback needs --limit', async () => {
    const { code, stderr } = await rpctl('cert', 'rollback', '-i', inventory, '--yes');
    expect(code).toBe(3);
    expect(stderr).toBe(
      "rpctl: cert rollback: --limit is required: name the appliances to change (names, groups, globs; '*' for all)\n",
    );
  });
});

describe('rpctl cert --help', () => {
  it.each(['replace', 'status', 'rollback'])('%s has examples and exit codes', async (sub) => {
    const { code, stdout } = await rpctl('cert', sub, '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('Exit codes:');
    expect(stdout).toContain(`rpctl cert ${sub} -i inventories/prod.yaml`);
  });
});
