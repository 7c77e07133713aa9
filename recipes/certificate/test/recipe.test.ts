/** The certificate and certificate-rollback recipes as pure planners (no SSH). */
import { createHash, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GatheredFacts } from '../../../src/engine/facts.js';
import { planHost } from '../../../src/engine/plan.js';
import { Redactor } from '../../../src/engine/redact.js';
import { ExitCode, HostError, InputError } from '../../../src/errors.js';
import { keyBodyLines } from '../../../test/certificates.js';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { type CertificateDesired, certificateRecipe, PEXIP_PEM, PEXIP_PEM_BACKUP } from '../recipe.js';
import { certificateRollbackRecipe } from '../rollback.js';
import {
  appliance,
  current,
  desiredOf,
  dir,
  hostWith,
  inter,
  next,
  pemFile,
  ref,
  wrongName,
} from './fixtures.js';

const now = new Date();
const ctx = { host: 'rp1', now };

const currentPem = current.certPem + current.keyPem;
const fingerprint = (pem: string) =>
  new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();

describe('certificate: desired (checked before any host is contacted)', () => {
  it('is undefined without a certificate section', () => {
    expect(
      certificateRecipe.desired({ appliance: appliance(undefined), secret: () => '', now: new Date() }),
    ).toBeUndefined();
  });

  it("builds pexip.pem from a ready file, for the inventory's hostname.domain, and registers the key for redaction", () => {
    const { desired, added } = desiredOf({ pem: ref(pemFile('next.pem', next)) });
    expect(desired.pem.content).toBe(next.certPem + next.keyPem + inter.certPem);
    expect(desired.fqdn).toBe('rp1.vc.example.com');
    expect(added).toEqual(expect.arrayContaining(keyBodyLines(next.keyPem)));
  });

  it('assembles cert, key and chain, with paths relative to the inventory file', () => {
    const { desired } = desiredOf({ cert: 'next.crt', key: ref(next.key), chain: ['intermediate.crt'] });
    expect(desired.pem.content).toBe(next.certPem + next.keyPem + inter.certPem);
  });

  it('refuses with exit 3 and one line naming the appliance: a name mismatch, an unreadable file', () => {
    const mismatch = () => desiredOf({ pem: ref(pemFile('wrong.pem', wrongName)) });
    expect(mismatch).toThrow(InputError);
    expect(mismatch).toThrow(
      'rp1: certificate: the certificate (SANs DNS:rp2.vc.example.com) does not cover rp1.vc.example.com; to install it anyway: --allow-name-mismatch, or certificate.allowNameMismatch: true',
    );
    expect(() =>
      desiredOf({ pem: ref(pemFile('wrong.pem', wrongName)), allowNameMismatch: true }),
    ).not.toThrow();
    const missing = () => desiredOf({ cert: 'nowhere.crt', key: ref(next.key) });
    expect(missing).toThrow(`rp1: certificate: ${join(dir, 'nowhere.crt')}: the file does not exist`);
    try {
      missing();
    } catch (err) {
      expect((err as InputError).exitCode).toBe(ExitCode.invalid);
    }
  });
});

describe('certificate: plan', () => {
  const { desired } = desiredOf({ pem: ref(pemFile('next.pem', next)) });

  it('changes nothing when the installed file has the same sha256 (no upload, no reload)', () => {
    expect(certificateRecipe.plan(desired, hostWith(desired.pem.content), ctx).changes).toEqual([]);
  });

  it('writes the file as a secret, 0400 root:root, keeps pexip.pem.backup, validates and reloads', () => {
    const { changes, warnings } = certificateRecipe.plan(desired, hostWith(currentPem), ctx);
    expect(warnings).toEqual([]);
    expect(changes).toHaveLength(1);
    const change = changes[0]!;
    expect(change.writes).toEqual([
      {
        path: PEXIP_PEM,
        content: desired.pem.content,
        secret: true,
        mode: 0o400,
        owner: 'root',
        group: 'root',
        siblingBackup: 'pexip.pem.backup',
      },
    ]);
    expect(change.validate?.map((c) => c.text)).toEqual(['nginx -t']);
    expect(change.notify?.map((h) => [h.id, h.command.text, h.disruptive])).toEqual([
      [
        'nginx:reload',
        'if service nginx status > /dev/null 2>&1; then service nginx reload; else service nginx start; fi',
        false,
      ],
    ]);
    expect(change.summary).toMatch(
      /^replace CN=rp1.vc.example.com \(sha256 [0-9a-f]{16}…\) with CN=rp1.vc.example.com \(sha256 [0-9a-f]{16}…\), valid until 20\d\d-\d\d-\d\d$/,
    );
  });

  it('shows subjects, issuers, names, expiry and fingerprints old -> new in the diff, never the key', () => {
    const plan = planHost(
      'rp1',
      [{ recipe: certificateRecipe, desired }],
      new GatheredFacts(new Map([[PEXIP_PEM, hostWith(currentPem).file(PEXIP_PEM)]]), new Map()),
      { allowDisruptive: false, now, redactor: new Redactor() },
    );
    const diff = plan.changes[0]!.diff;
    expect(diff).toContain(`- sha256   ${fingerprint(current.certPem)}`);
    expect(diff).toContain(`+ sha256   ${fingerprint(next.certPem)}`);
    expect(diff).toContain('- issuer   CN=rpctl test intermediate');
    expect(diff).toContain('+ names    DNS:rp1.vc.example.com');
    expect(diff).toMatch(/\+ chain {4}CN=rpctl test intermediate \(sha256 [0-9a-f]{16}…\)/);
    expect(diff).toContain('+ key      RSA 2048 bits');
    expect(diff).not.toContain('PRIVATE KEY-----');
    for (const line of keyBodyLines(next.keyPem)) expect(diff).not.toContain(line);
  });

  it('checks the name the appliance reports when the inventory has no hostname and domain (that host fails)', () => {
    const { desired: unnamed } = desiredOf({ pem: ref(pemFile('wrong.pem', wrongName)) }, false);
    expect(unnamed.fqdn).toBeUndefined();
    expect(() => certificateRecipe.plan(unnamed, hostWith(currentPem), ctx)).toThrow(HostError);
    expect(() => certificateRecipe.plan(unnamed, hostWith(currentPem), ctx)).toThrow(
      /^rp1: certificate: the certificate \(SANs DNS:rp2.vc.example.com\) does not cover rp1.vc.example.com, the name the appliance reports/,
    );
    // allowed to mismatch, the name is still needed for the TLS check: a host without one fails now
    const { desired: allowed } = desiredOf(
      { pem: ref(pemFile('wrong.pem', wrongName)), allowNameMismatch: true },
      false,
    );
    expect(certificateRecipe.plan(allowed, hostWith(currentPem), ctx).changes).toHaveLength(1);
    expect(() => certificateRecipe.plan(allowed, fakeFacts({}), ctx)).toThrow(
      /rp1: does not look like a Pexip RP\/TURN appliance/,
    );
  });
});

describe('certificate: verification', () => {
  const { desired } = desiredOf({ pem: ref(pemFile('next.pem', next)) });
  const installed = hostWith(desired.pem.content);

  it('expects the new leaf and chain over TLS with SNI = the FQDN, and the new file in place', () => {
    const checks = certificateRecipe.verify!(desired, installed, ctx);
    expect(checks).toEqual([
      { kind: 'assert', ok: true, message: `${PEXIP_PEM} holds the new file` },
      expect.objectContaining({
        kind: 'probe',
        probe: 'tls',
        params: {
          port: 443,
          servername: 'rp1.vc.example.com',
          expectFingerprint256: fingerprint(next.certPem),
          expectChain: [fingerprint(inter.certPem)],
        },
      }),
    ]);
    expect(certificateRecipe.verify!(desired, hostWith(currentPem), ctx)[0]).toMatchObject({ ok: false });
  });

  it('after a rollback, expects the previous certificate to be served again', () => {
    const checks = certificateRecipe.verifyRestored!(
      desired as CertificateDesired,
      hostWith(currentPem),
      installed,
      ctx,
    );
    expect(checks).toEqual([
      expect.objectContaining({
        kind: 'probe',
        probe: 'tls',
        params: expect.objectContaining({
          servername: 'rp1.vc.example.com',
          expectFingerprint256: fingerprint(current.certPem),
          expectChain: [],
        }),
      }),
    ]);
  });
});

describe('certificate-rollback', () => {
  const rollback = certificateRollbackRecipe;
  const desired = { fqdn: 'rp1.vc.example.com' };
  const nextPem = next.certPem + next.keyPem + inter.certPem;

  it('fails the host when there is no backup, and changes nothing when the backup is in place', () => {
    expect(() => rollback.plan(desired, hostWith(nextPem), ctx)).toThrow(
      `rp1: no ${PEXIP_PEM_BACKUP} to restore`,
    );
    expect(rollback.plan(desired, hostWith(nextPem, nextPem), ctx).changes).toEqual([]);
  });

  it('copies the backup into place on the host (never reading its key), checked, validated, reloaded', () => {
    const { changes } = rollback.plan(desired, hostWith(nextPem, currentPem), ctx);
    const change = changes[0]!;
    expect(change.writes).toBeUndefined();
    const step = change.steps![0]!;
    expect(step.touches).toEqual([PEXIP_PEM]);
    expect(step.secretFiles).toBeUndefined();
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(step.command.text).toContain(sha(currentPem));
    expect(step.command.text).toContain(sha(nextPem));
    expect(step.command.text).toMatch(
      /chmod 0400 .* && mv -f \/etc\/nginx\/ssl\/.pexip.pem.rpctl-rollback \/etc\/nginx\/ssl\/pexip.pem$/,
    );
    expect(change.validate?.map((c) => c.text)).toEqual(['nginx -t']);
    expect(change.notify?.map((h) => h.id)).toEqual(['nginx:reload']);
    expect(change.display).toContain(`+ sha256   ${fingerprint(current.certPem)}`);
    expect(change.display).toContain(`- sha256   ${fingerprint(next.certPem)}`);
  });

  it("verifies the backup's certificate is served, and after a failure the one served before", () => {
    const after = hostWith(currentPem, currentPem);
    expect(rollback.verify!(desired, after, ctx)).toEqual([
      expect.objectContaining({ kind: 'assert', ok: true }),
      expect.objectContaining({
        probe: 'tls',
        params: expect.objectContaining({ expectFingerprint256: fingerprint(current.certPem) }),
      }),
    ]);
    const restored = rollback.verifyRestored!(desired, hostWith(nextPem, currentPem), after, ctx);
    expect(restored).toEqual([
      expect.objectContaining({
        params: expect.objectContaining({ expectFingerprint256: fingerprint(next.certPem) }),
      }),
    ]);
  });
});
