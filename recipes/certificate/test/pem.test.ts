/** Checking and assembling pexip.pem on the control machine (recipes/certificate/pem.ts). */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyBodyLines, TestPki } from '../../../test/certificates.js';
import { type AssembleOptions, assemblePexipPem, type CertificateInput, nameProblem } from '../pem.js';

const dir = mkdtempSync(join(tmpdir(), 'rpctl-pki-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pki = new TestPki(dir);
const DAY = 86_400_000;
const leaf = pki.leaf('rp1', { names: ['rp1.example.com', '*.proxies.example.com'] });
const other = pki.leaf('rp2', { names: ['rp2.example.com'] });
const weak = pki.leaf('weak', { names: ['rp1.example.com'], keyType: 'rsa:1024' });
const ec = pki.leaf('ec', { names: ['rp1.example.com'], keyType: 'ec:prime256v1' });
const cnOnly = pki.leaf('cn-only', { names: [], cn: 'rp1.example.com' });
const expired = pki.leaf('expired', {
  names: ['rp1.example.com'],
  notBefore: new Date(Date.now() - 400 * DAY),
  notAfter: new Date(Date.now() - 30 * DAY),
});
const future = pki.leaf('future', {
  names: ['rp1.example.com'],
  notBefore: new Date(Date.now() + 10 * DAY),
  notAfter: new Date(Date.now() + 400 * DAY),
});
const soon = pki.leaf('soon', { names: ['rp1.example.com'], notAfter: new Date(Date.now() + 5 * DAY) });
const byRoot = pki.leaf('by-root', { names: ['rp1.example.com'], issuer: pki.root });
const { intermediate, root } = pki;
const now = new Date();

const pem = (...parts: string[]): CertificateInput => ({
  kind: 'pem',
  pem: { text: parts.join(''), where: 'file:/certs/rp1.pem' },
});
const parts = (cert: string, key: string, ...chain: string[]): CertificateInput => ({
  kind: 'parts',
  cert: { text: cert, where: '/certs/rp1.crt' },
  key: { text: key, where: 'file:/certs/rp1.key' },
  chain: chain.map((text, i) => ({ text, where: `/certs/chain-${i}.crt` })),
});
const assemble = (input: CertificateInput, options: Partial<AssembleOptions> = {}) =>
  assemblePexipPem(input, { now, ...options });
const problemOf = (input: CertificateInput, options: Partial<AssembleOptions> = {}): string => {
  try {
    assemble(input, options);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a problem');
};

describe('assemblePexipPem: what is accepted', () => {
  it("keeps a ready pexip.pem in the guide's order byte for byte", () => {
    const text = leaf.certPem + leaf.keyPem + intermediate.certPem;
    const result = assemble(pem(text));
    expect(result.content).toBe(text);
    expect(result.leaf.fingerprint256).toBe(new X509Certificate(leaf.certPem).fingerprint256);
    expect(result.chain.map((c) => c.subject)).toEqual(['CN=rpctl test intermediate']);
    expect(result.keyType).toBe('RSA 2048 bits');
    expect(result.warnings).toEqual([]);
  });

  it('assembles cert, key and chain files into the same file, whatever their line ends and extras', () => {
    const crlf = (text: string) =>
      `Bag Attributes\r\n  friendlyName: rp1\r\n${text.replaceAll('\n', '\r\n')}`;
    const result = assemble(
      parts(crlf(leaf.certPem), crlf(leaf.keyPem), intermediate.certPem + root.certPem),
    );
    expect(result.content).toBe(leaf.certPem + leaf.keyPem + intermediate.certPem + root.certPem);
    // a certificate file that carries its intermediates (fullchain.pem) gives the same file
    expect(assemble(parts(leaf.certPem + intermediate.certPem, leaf.keyPem)).content).toBe(
      leaf.certPem + leaf.keyPem + intermediate.certPem,
    );
  });

  it('takes EC keys and drops the EC PARAMETERS block openssl ecparam writes before them', () => {
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const result = assemble(pem(ec.certPem, params, ec.keyPem, intermediate.certPem));
    expect(result.content).toBe(ec.certPem + ec.keyPem + intermediate.certPem);
    expect(result.keyType).toBe('EC prime256v1');
  });

  it('decrypts an encrypted key locally when given the passphrase; only the plain key is installed', () => {
    const encrypted = readFileSync(pki.encryptedKey(leaf, 'correct horse'), 'utf8');
    expect(encrypted).toContain('ENCRYPTED PRIVATE KEY');
    const passphrase = { value: 'correct horse', where: 'file:/certs/pass' };
    const result = assemble(parts(leaf.certPem, encrypted, intermediate.certPem), { passphrase });
    expect(result.content).not.toContain('ENCRYPTED');
    const installedKey = result.content.match(
      /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/,
    )![0];
    expect(new X509Certificate(leaf.certPem).checkPrivateKey(createPrivateKey(installedKey))).toBe(true);
    expect(result.keySecrets).toContain(installedKey);
  });

  it('lists what to redact: the key, its base64 body and every full line of it', () => {
    const result = assemble(pem(leaf.certPem, leaf.keyPem, intermediate.certPem));
    const lines = keyBodyLines(leaf.keyPem);
    expect(lines.length).toBeGreaterThan(20);
    expect(result.keySecrets).toEqual(
      expect.arrayContaining([leaf.keyPem.trimEnd(), lines.join(''), ...lines]),
    );
    expect(result.keySecrets.some((s) => s.includes('CERTIFICATE'))).toBe(false);
  });
});

describe('assemblePexipPem: warnings', () => {
  it('warns about RSA keys under 2048 bits (nginx at security level 2 refuses them)', () => {
    const result = assemble(pem(weak.certPem, weak.keyPem, intermediate.certPem));
    expect(result.warnings).toEqual([expect.stringMatching(/RSA key has 1024 bits, under 2048/)]);
  });

  it('warns about a missing chain, unless the certificate is self-signed', () => {
    expect(assemble(pem(leaf.certPem, leaf.keyPem)).warnings).toEqual([
      'no intermediate certificates: clients that do not already hold CN=rpctl test intermediate will not trust this certificate',
    ]);
    expect(assemble(pem(root.certPem, root.keyPem)).warnings).toEqual([]);
  });

  it('warns about a certificate that expires within 30 days', () => {
    expect(assemble(pem(soon.certPem, soon.keyPem, intermediate.certPem)).warnings).toEqual([
      expect.stringMatching(/^the server certificate \(CN=rp1.example.com\) expires in [45] days/),
    ]);
  });
});

describe('assemblePexipPem: each problem is one line naming the file', () => {
  const cases: [string, CertificateInput, RegExp][] = [
    [
      'key first',
      pem(leaf.keyPem, leaf.certPem),
      /^file:\/certs\/rp1.pem: the private key comes before the certificate; the order is: server certificate, its private key, then intermediates$/,
    ],
    [
      'intermediate before the key',
      pem(leaf.certPem, intermediate.certPem, leaf.keyPem),
      /^file:\/certs\/rp1.pem: a certificate comes between the server certificate and its private key/,
    ],
    ['no key', pem(leaf.certPem, intermediate.certPem), /no private key after the certificate/],
    ['two keys', pem(leaf.certPem, leaf.keyPem, other.keyPem), /2 private keys; pexip.pem holds exactly one/],
    ['nothing', pem('just text\n'), /no PEM blocks/],
    [
      'a CSR',
      pem(
        leaf.certPem,
        leaf.keyPem,
        '-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----\n',
      ),
      /unexpected PEM block CERTIFICATE REQUEST/,
    ],
    ['cut short', pem(leaf.certPem, leaf.keyPem.slice(0, 200)), /has no END line/],
    [
      'key of another certificate',
      pem(leaf.certPem, other.keyPem, intermediate.certPem),
      /^file:\/certs\/rp1.pem: the private key does not belong to the server certificate \(CN=rp1.example.com\)$/,
    ],
    [
      'chain skips the intermediate',
      pem(leaf.certPem, leaf.keyPem, root.certPem),
      /intermediate 1 \(CN=rpctl test root\) did not issue the server certificate \(CN=rp1.example.com\), whose issuer is CN=rpctl test intermediate/,
    ],
    [
      'chain upside down',
      pem(byRoot.certPem, byRoot.keyPem, intermediate.certPem),
      /intermediate 1 \(CN=rpctl test intermediate\) did not issue the server certificate/,
    ],
    [
      'expired',
      pem(expired.certPem, expired.keyPem, intermediate.certPem),
      /the server certificate \(CN=rp1.example.com\) expired on 20\d\d-/,
    ],
    ['not yet valid', pem(future.certPem, future.keyPem, intermediate.certPem), /is not valid until 20\d\d-/],
    [
      'key in the cert file',
      parts(leaf.certPem + leaf.keyPem, leaf.keyPem),
      /^\/certs\/rp1.crt: holds a private key/,
    ],
    [
      'cert in the key file',
      parts(leaf.certPem, leaf.keyPem + leaf.certPem),
      /^file:\/certs\/rp1.key: holds certificates/,
    ],
    [
      'key in a chain file',
      parts(leaf.certPem, leaf.keyPem, leaf.keyPem),
      /^\/certs\/chain-0.crt: holds a private key/,
    ],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    const message = problemOf(input);
    expect(message).toMatch(expected);
    expect(message).not.toContain('\n');
  });

  it('refuses an encrypted key without its passphrase, and with a wrong one', () => {
    const encrypted = readFileSync(pki.encryptedKey(other, 'right'), 'utf8');
    expect(problemOf(parts(other.certPem, encrypted))).toMatch(
      /^file:\/certs\/rp1.key: the private key is encrypted and pexip.pem needs it unencrypted: give its passphrase \(--key-passphrase-file/,
    );
    expect(
      problemOf(parts(other.certPem, encrypted), { passphrase: { value: 'wrong', where: 'file:/p' } }),
    ).toBe('file:/certs/rp1.key: the private key does not decrypt with the passphrase from file:/p');
  });
});

describe('nameProblem', () => {
  const x509 = (issued: { certPem: string }) => new X509Certificate(issued.certPem);
  it('accepts a SAN, a wildcard SAN one label deep, and the CN when there are no SANs', () => {
    expect(nameProblem(x509(leaf), 'rp1.example.com')).toBeUndefined();
    expect(nameProblem(x509(leaf), 'RP1.example.com')).toBeUndefined();
    expect(nameProblem(x509(leaf), 'a.proxies.example.com')).toBeUndefined();
    expect(nameProblem(x509(cnOnly), 'rp1.example.com')).toBeUndefined();
  });
  it('says which names the certificate has', () => {
    expect(nameProblem(x509(leaf), 'a.b.proxies.example.com')).toBe(
      'the certificate (SANs DNS:rp1.example.com, DNS:*.proxies.example.com) does not cover a.b.proxies.example.com',
    );
    expect(nameProblem(x509(cnOnly), 'rp2.example.com')).toBe(
      'the certificate (CN=rp1.example.com) does not cover rp2.example.com',
    );
  });
});
