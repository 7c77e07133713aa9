/**
 * certificate: the TLS certificate nginx serves, /etc/nginx/ssl/pexip.pem. It automates the guide's
 * "Replacing the default SSL certificate" (copy to pexip.pem.backup, install, restart nginx) and
 * makes it safe:
 *
 * - Everything about the certificate is checked on this machine, in `desired`, before any host is
 *   contacted (recipes/certificate/pem.ts): order, unencrypted key (or decrypted here), key matches, chain
 *   links, validity dates, the name hostname.domain. A problem is an InputError: exit 3.
 * - The private key never comes back: facts read only the file's CERTIFICATE blocks (and the
 *   sha256 of the whole file, which makes the plan idempotent). The write is `secret`: uploaded
 *   0600 into a 0700 directory, never diffed; plans show subjects and fingerprints instead.
 * - Installed 0400 root:root, the previous file kept as pexip.pem.backup (and in the run's
 *   timestamped backup), `nginx -t`, then `service nginx reload`: new handshakes get the new
 *   certificate, calls in progress survive (the guide's restart would cut them).
 * - Verified by a real TLS handshake with SNI = the FQDN: the new leaf and chain must be served;
 *   otherwise the engine puts the old file back and checks the old certificate is served again.
 *
 * Without hostname and domain in the inventory the FQDN is the one the appliance reports (its
 * /etc/hostname and /etc/hosts, as the wizard writes them); that name is checked at plan time,
 * before anything is uploaded, and fails only that host.
 */

import type { X509Certificate } from 'node:crypto';
import {
  type ApplianceConfig,
  type Change,
  type Check,
  type DesiredContext,
  defineRecipe,
  describeSecretRef,
  HostError,
  type HostFacts,
  InputError,
  mergeFactSpecs,
  type PlanContext,
  type PlanResult,
  sha256,
} from '../../src/engine/contract.js';
import { applianceFactSpec, applianceFacts } from '../appliance/facts.js';
import { PEXIP_PEM, PEXIP_PEM_BACKUP, PEXIP_PEM_BACKUP_NAME } from '../appliance/paths.js';
import { NGINX_RELOAD, NGINX_TEST, nginxHandshakeProbe, nginxRunsCheck } from '../services/nginx.js';
import { describeCertificate, pemCertificates } from './describe.js';
import { assemblePexipPem, CertificateProblem, nameProblem, type PexipPem } from './pem.js';
import { type CertificateSection, certificateInput, certificateInventorySection } from './schema.js';

export { certificateInventorySection };

import { TLS_PROBE } from './tls-probe.js';

export { PEXIP_PEM, PEXIP_PEM_BACKUP, PEXIP_PEM_BACKUP_NAME };
export const HTTPS_PORT = 443;
export const NAME_MISMATCH_HINT =
  'to install it anyway: --allow-name-mismatch, or certificate.allowNameMismatch: true';

export interface CertificateDesired {
  pem: PexipPem;
  sha256: string;
  /** hostname.domain from the inventory; undefined: the name the appliance reports */
  fqdn: string | undefined;
  allowNameMismatch: boolean;
}

/** hostname.domain when the inventory sets both. */
export function inventoryFqdn(appliance: ApplianceConfig): string | undefined {
  return appliance.hostname && appliance.domain ? `${appliance.hostname}.${appliance.domain}` : undefined;
}

/** The name to check and to send as SNI: the inventory's, else what the appliance reports. */
export function fqdnFor(fqdn: string | undefined, facts: HostFacts, host: string): string {
  return fqdn ?? applianceFacts(facts, host).fqdn;
}

const fingerprint = (cert: X509Certificate) => cert.fingerprint256.replaceAll(':', '').toLowerCase();
const subjectOf = (cert: X509Certificate) => cert.subject.replaceAll('\n', ', ');
const short = (cert: X509Certificate) => `${subjectOf(cert)} (sha256 ${fingerprint(cert).slice(0, 16)}…)`;

/** One side of a certificate "diff": identity, validity and fingerprints, never key material. */
export function certificateLines(sign: '-' | '+', certs: readonly X509Certificate[], now: Date): string[] {
  const [leaf, ...chain] = certs;
  if (!leaf) return [`${sign} (no certificate)`];
  const info = describeCertificate(leaf, now);
  return [
    `${sign} subject  ${info.subject}`,
    `${sign} issuer   ${info.issuer}`,
    `${sign} names    ${info.subjectAltNames.join(', ') || '(no SANs)'}`,
    `${sign} expires  ${info.notAfter.replace(/\.\d+Z$/, 'Z')} (${info.daysLeft} days)`,
    `${sign} sha256   ${info.fingerprint256}`,
    ...(chain.length === 0
      ? [`${sign} chain    (none)`]
      : chain.map((c, i) => `${sign} ${i === 0 ? 'chain   ' : '        '} ${short(c)}`)),
  ];
}

/** The certificates of a facts file read with `read: 'certificates'`; unreadable ones say why. */
export function installedCertificates(facts: HostFacts, path: string): X509Certificate[] | string {
  const file = facts.file(path);
  if (!file.exists) return [];
  try {
    return pemCertificates(file.content.toString('utf8'));
  } catch (err) {
    return `unreadable (${(err as Error).message})`;
  }
}

function describeChange(desired: CertificateDesired, before: X509Certificate[] | string, now: Date): string {
  const old = typeof before === 'string' ? [`- (${before})`] : certificateLines('-', before, now);
  const next = certificateLines('+', [desired.pem.leaf, ...desired.pem.chain], now);
  return [
    `${PEXIP_PEM} (the private key is never shown)`,
    ...old,
    ...next,
    `+ key      ${desired.pem.keyType}`,
  ]
    .join('\n')
    .concat('\n');
}

function summary(desired: CertificateDesired, before: X509Certificate[] | string): string {
  const leaf = desired.pem.leaf;
  const until = new Date(leaf.validTo).toISOString().slice(0, 10);
  const old = typeof before === 'string' ? undefined : before[0];
  if (!old) return `install ${short(leaf)}, valid until ${until}`;
  if (fingerprint(old) === fingerprint(leaf)) {
    return `rewrite pexip.pem: same certificate ${short(leaf)}, its key, chain or layout differ`;
  }
  return `replace ${short(old)} with ${short(leaf)}, valid until ${until}`;
}

function plan(desired: CertificateDesired, facts: HostFacts, ctx: PlanContext): PlanResult {
  const warnings = [...desired.pem.warnings];
  // Resolved here even when names are not checked: verification needs it, and must not fail late.
  const fqdn = fqdnFor(desired.fqdn, facts, ctx.host);
  if (desired.fqdn === undefined && !desired.allowNameMismatch) {
    const problem = nameProblem(desired.pem.leaf, fqdn);
    if (problem) {
      throw new HostError(
        'plan',
        `${ctx.host}: certificate: ${problem}, the name the appliance reports (the inventory sets no hostname and domain); ${NAME_MISMATCH_HINT}`,
      );
    }
  }
  const file = facts.file(PEXIP_PEM);
  if (file.exists && file.sha256 === desired.sha256) return { changes: [], warnings };
  const before = installedCertificates(facts, PEXIP_PEM);
  const change: Change = {
    summary: summary(desired, before),
    writes: [
      {
        path: PEXIP_PEM,
        content: desired.pem.content,
        secret: true,
        mode: 0o400,
        owner: 'root',
        group: 'root',
        siblingBackup: PEXIP_PEM_BACKUP_NAME,
      },
    ],
    validate: [NGINX_TEST],
    notify: [NGINX_RELOAD],
    display: describeChange(desired, before, ctx.now),
  };
  return { changes: [change], warnings };
}

/** nginx serves `certs` (leaf, then chain) to a handshake with SNI `fqdn`. */
export function servesCheck(certs: readonly X509Certificate[], fqdn: string, message: string): Check {
  const [leaf, ...chain] = certs;
  const check = TLS_PROBE.check(
    {
      port: HTTPS_PORT,
      servername: fqdn,
      expectFingerprint256: fingerprint(leaf!),
      expectChain: chain.map(fingerprint),
    },
    message,
  );
  return { ...check, covers: [nginxHandshakeProbe.name] };
}

function verify(desired: CertificateDesired, after: HostFacts, ctx: PlanContext): Check[] {
  const file = after.file(PEXIP_PEM);
  const fqdn = fqdnFor(desired.fqdn, after, ctx.host);
  const certs = [desired.pem.leaf, ...desired.pem.chain];
  return [
    {
      kind: 'assert',
      ok: file.exists && file.sha256 === desired.sha256,
      message: `${PEXIP_PEM} holds the new file`,
    },
    nginxRunsCheck(after, ctx.host),
    servesCheck(certs, fqdn, `nginx serves ${short(desired.pem.leaf)} for ${fqdn}`),
  ];
}

/** After a rollback: nginx serves again the certificate `before` had installed. */
export function servesPreviousCheck(
  fqdn: string | undefined,
  before: HostFacts,
  host: string,
  message: (previous: string) => string,
): Check[] {
  const old = installedCertificates(before, PEXIP_PEM);
  if (typeof old === 'string' || old.length === 0) return [];
  return [servesCheck(old, fqdnFor(fqdn, before, host), message(short(old[0]!)))];
}

function verifyRestored(
  desired: CertificateDesired,
  before: HostFacts,
  _after: HostFacts,
  ctx: PlanContext,
): Check[] {
  return servesPreviousCheck(
    desired.fqdn,
    before,
    ctx.host,
    (previous) => `nginx serves the previous certificate ${previous} again`,
  );
}

function desired(section: CertificateSection, ctx: DesiredContext): CertificateDesired | undefined {
  // certificate.acme: issued and installed by the certificate-acme recipe instead (acme.ts)
  if (section.acme !== undefined) return undefined;
  const name = ctx.appliance.name;
  let pem: PexipPem;
  try {
    const passphrase = section.keyPassphrase && {
      value: ctx.secret(section.keyPassphrase),
      where: describeSecretRef(section.keyPassphrase),
    };
    pem = assemblePexipPem(certificateInput(section, ctx), { now: ctx.now, passphrase });
  } catch (err) {
    if (err instanceof CertificateProblem) throw new InputError(`${name}: certificate: ${err.message}`);
    throw err;
  }
  for (const value of pem.keySecrets) ctx.addSecret?.(value);
  const fqdn = inventoryFqdn(ctx.appliance);
  const allowNameMismatch = section.allowNameMismatch === true;
  const problem = fqdn && !allowNameMismatch ? nameProblem(pem.leaf, fqdn) : undefined;
  if (problem) throw new InputError(`${name}: certificate: ${problem}; ${NAME_MISMATCH_HINT}`);
  return { pem, sha256: sha256(pem.content), fqdn, allowNameMismatch };
}

export const certificateRecipe = defineRecipe({
  name: 'certificate',
  description: 'the TLS certificate nginx serves, /etc/nginx/ssl/pexip.pem (reload, calls survive)',
  section: certificateInventorySection,
  desired,
  facts: mergeFactSpecs([applianceFactSpec, { files: [{ path: PEXIP_PEM, read: 'certificates' }] }]),
  plan,
  verify,
  verifyRestored,
});
