/**
 * certificate.acme's pure parts: the challenge location edit of pexapp, when a renewal is due, the
 * install step's checks of an issued chain, and bad `acme` values refused with file:line:column
 * before anything is contacted (exit 3; the appliance is a closed port).
 */

import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import { ecKeyFile, TestPki } from '../../../test/certificates.js';
import { pexapp } from '../../../test/lab/files.js';
import { registry } from '../../../test/registry.js';
import { installSteps } from '../acme-appliance.js';
import { orderNames, renewalReason } from '../acme-due.js';
import {
  CHALLENGE_DIR,
  hasChallengeLocation,
  LocationProblem,
  withChallengeLocation,
} from '../acme-location.js';

/** One directory for the file (helpers' tempDir is removed after each test). */
const root = mkdtempSync(join(tmpdir(), 'rpctl-unit-acme-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const tempDir = () => mkdtempSync(join(root, `${++dirs}-`));

const spec = {
  name: 'lab-1',
  index: 1,
  address: '127.0.2.1',
  generation: 'v4' as const,
  state: 'installed' as const,
  hostname: 'lab-1',
  domain: 'lab.example.com',
  nodes: ['127.0.3.10'],
  turnUser: 'pexip',
};

describe('the challenge location in pexapp', () => {
  const original = pexapp(spec);

  it('adds it to the port-80 server, moves the redirect into location /, keeps every other byte', () => {
    const edited = withChallengeLocation(original)!;
    expect(hasChallengeLocation(original)).toBe(false);
    expect(hasChallengeLocation(edited)).toBe(true);
    expect(edited).toContain(
      `    location ^~ /.well-known/acme-challenge/ {\n        alias ${CHALLENGE_DIR}/;\n        default_type text/plain;\n    }\n    location / {\n        return 301 https://$host$request_uri;\n    }\n}`,
    );
    // taking out exactly what was added gives the original back
    const undone = edited
      .replace(/ {4}# rpctl certificate\.acme[^\n]*\n {4}location \^~[^}]*}\n/, '')
      .replace(
        '    location / {\n        return 301 https://$host$request_uri;\n    }',
        '    return 301 https://$host$request_uri;',
      );
    expect(undone).toBe(original);
    expect(withChallengeLocation(edited)).toBeUndefined();
  });

  it('keeps comments and tabs; ignores braces in comments and strings', () => {
    const text = [
      '# a } in a comment',
      'server {',
      '\tlisten 80; server_name "x{";',
      '\treturn 301 https://$host$request_uri; # why',
      '}',
      'server {',
      '\tlisten 443 ssl;',
      '\treturn 403;',
      '}',
      '',
    ].join('\n');
    const edited = withChallengeLocation(text)!;
    expect(edited).toContain('\tlocation / {\n\t\treturn 301 https://$host$request_uri;\n\t} # why');
    expect(edited).toContain(`\tlocation ^~ /.well-known/acme-challenge/ {\n\t\talias ${CHALLENGE_DIR}/;`);
    expect(edited.split('server {\n\tlisten 443 ssl;\n\treturn 403;\n}')).toHaveLength(2);
    expect(edited.startsWith('# a } in a comment\nserver {\n\tlisten 80; server_name "x{";\n\t# rpctl')).toBe(
      true,
    );
    expect(hasChallengeLocation(edited)).toBe(true);
  });

  it('refuses a file without a port-80 server, or unbalanced', () => {
    expect(() => withChallengeLocation('server {\n  listen 443 ssl;\n}\n')).toThrow(LocationProblem);
    expect(() => withChallengeLocation('server {\n  listen 80;\n')).toThrow('a block is not closed');
  });
});

describe('renewal due', () => {
  const dir = tempDir();
  const pki = new TestPki(dir);
  const now = new Date();
  const names = orderNames('rp1.example.com', ['Meet.example.com']);
  const leafOf = (options: Parameters<TestPki['leaf']>[1]) =>
    new X509Certificate(pki.leaf(`l${Math.random().toString(36).slice(2)}`, options).certPem);
  const fresh = leafOf({ names, keyType: 'ec:prime256v1' });
  const issued = (cert: X509Certificate, directory = 'https://ca/dir') =>
    `directory=${directory}\nleaf=${cert.fingerprint256.replaceAll(':', '').toLowerCase()}\n`;
  const desired = {
    directory: 'https://ca/dir',
    keyType: 'ecdsa-p256' as const,
    renewBefore: 30,
    force: false,
  };

  it.each([
    ['nothing', desired, [fresh], issued(fresh), undefined],
    ['forced', { ...desired, force: true }, [fresh], issued(fresh), 'forced (--force)'],
    ['no certificate', desired, [], undefined, 'no certificate installed'],
    ['installed by hand', desired, [fresh], undefined, 'was not issued through certificate.acme'],
    ['another directory', desired, [fresh], issued(fresh, 'https://other/dir'), 'another ACME directory'],
    [
      'another key type',
      { ...desired, keyType: 'rsa-2048' as const },
      [fresh],
      issued(fresh),
      'its key is ecdsa-p256',
    ],
  ])('%s', (_what, want, installed, marker, reason) => {
    const got = renewalReason(want, names, installed, marker, now);
    if (reason === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(reason);
  });

  it('other names, and fewer days left than renewBefore', () => {
    const one = leafOf({ names: ['rp1.example.com'], keyType: 'ec:prime256v1' });
    expect(renewalReason(desired, names, [one], issued(one), now)).toBe(
      'its names are rp1.example.com; the inventory wants meet.example.com, rp1.example.com',
    );
    const soon = leafOf({
      names,
      keyType: 'ec:prime256v1',
      notAfter: new Date(now.getTime() + 10.5 * 86_400_000),
    });
    expect(renewalReason(desired, names, [soon], issued(soon), now)).toBe('10 days left (renewBefore 30)');
  });

  it('the install step refuses a chain that does not cover the names, and uploads leaf and chain apart', () => {
    const one = pki.leaf('one', { names: ['rp1.example.com'] });
    expect(() => installSteps({ chainPem: one.certPem }, names, 'https://ca/dir')).toThrow(
      'the issued certificate does not cover meet.example.com',
    );
    const both = pki.leaf('both', { names });
    const [step] = installSteps(
      { chainPem: both.certPem + pki.intermediate.certPem },
      names,
      'https://ca/dir',
    );
    expect(step!.secretFiles!['acme-leaf.pem']).toBe(`${both.certPem.trim()}\n`);
    expect(step!.secretFiles!['acme-chain.pem']).toBe(`${pki.intermediate.certPem.trim()}\n`);
    expect(step!.touches).toContain('/etc/nginx/ssl/pexip.pem.backup');
  });
});

describe('bad certificate.acme values: exit 3 with file:line:column, nothing contacted', () => {
  const dir = tempDir();
  const accountKey = join(dir, 'account.pem');
  ecKeyFile(accountKey);
  writeFileSync(join(dir, 'not-a-key.pem'), 'hello\n', { mode: 0o600 });

  async function plan(acme: string) {
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `defaults:\n  domain: example.com\n  ssh:\n    port: 1\nappliances:\n  rp1:\n    host: 127.0.0.1\n    hostname: rp1\n    certificate:\n${acme}`,
    );
    const buffers = bufferIo({ cwd: dir, env: { NO_COLOR: '1', HOME: dir, RPCTL_STATE_DIR: dir } });
    const code = await run(['plan', '-i', inventory], buffers.io, registry);
    return { code, stderr: buffers.stderr(), stdout: buffers.stdout() };
  }
  const good = `      acme:\n        directory: https://acme.example.com/dir\n        accountKey: file:account.pem\n`;

  it.each([
    ['directory: http://acme.example.com/dir', 11, 20, 'is not an https:// URL'],
    ['keyType: rsa-1024', 13, 18, 'keyType'],
    ['renewBefore: 0', 13, 22, 'must be a whole number from 1 to 180'],
    ['extraNames: ["*.example.com"]', 13, 22, 'wildcard names need a DNS-01 challenge'],
    ['email: not-an-address', 13, 16, 'is not an e-mail address'],
    ['eab: { kid: "a b", hmacKey: env:HMAC }', 13, 21, 'is not a key identifier'],
  ])('%s', async (line, row, column, message) => {
    const acme = line.startsWith('directory')
      ? `      acme:\n        ${line}\n        accountKey: file:account.pem\n`
      : `${good}        ${line}\n`;
    const { code, stderr, stdout } = await plan(acme);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toContain(`inventory.yaml:${row}:${column}`);
    expect(stderr).toContain(message);
  });

  it('acme with pem is refused where pem is', async () => {
    const { code, stderr } = await plan(`      pem: file:account.pem\n${good}`);
    expect(code).toBe(3);
    expect(stderr).toContain(
      'inventory.yaml:10:12: appliances.rp1.certificate.pem: acme issues the certificate',
    );
  });

  it('cert renew needs --limit (the one-off policy), with --force as without', async () => {
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `defaults:\n  domain: example.com\n  ssh:\n    port: 1\nappliances:\n  rp1:\n    host: 127.0.0.1\n`,
    );
    for (const argv of [['--force'], []]) {
      const buffers = bufferIo({ cwd: dir, env: { NO_COLOR: '1', HOME: dir, RPCTL_STATE_DIR: dir } });
      const code = await run(['cert', 'renew', '-i', inventory, '--yes', ...argv], buffers.io, registry);
      expect(code).toBe(3);
      expect(buffers.stderr()).toBe(
        "rpctl: cert renew: --limit is required: name the appliances to change (names, groups, globs; '*' for all)\n",
      );
    }
  });

  it('an account key that is not a private key, a caFile that is not a certificate', async () => {
    let result = await plan(good.replace('file:account.pem', 'file:not-a-key.pem'));
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      `rp1: certificate.acme.accountKey (file:${dir}/not-a-key.pem): not a PEM private key`,
    );
    result = await plan(`${good}        caFile: not-a-key.pem\n`);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('not a readable PEM certificate file');
  });
});
