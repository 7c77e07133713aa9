/**
 * certificate.acme: pexip.pem issued by an ACME CA over HTTP-01 and renewed before it expires, its
 * private key made on the appliance and never anywhere else. Two recipes:
 *
 * - certificate-acme-challenge: the `location ^~ /.well-known/acme-challenge/` of pexapp's port-80
 *   server (acme-location.ts), a surgical edit, nginx -t, graceful reload. It serves
 *   the files of CHALLENGE_DIR, which exist only while an order runs.
 * - certificate-acme: plans a renewal when one is due (renewalReason: forced, not issued through
 *   certificate.acme, other names or key type, fewer than renewBefore days left:
 *   acme-due.ts). Its change
 *   acquires (src/engine/acquire.ts, with the acquirer of acme-order.ts): once the confirmation is given and the challenge location is
 *   live, the engine's ACME acquirer has the appliance make the key (openssl, 0600 root, in the
 *   0700 ACME_DIR, acme-appliance.ts) and print its CSR, orders, writes and removes the token files; then the step
 *   built here joins the issued chain with that key into pexip.pem on the appliance as the
 *   certificate recipe installs it: previous file kept as pexip.pem.backup (and in the run's
 *   backup), atomic rename, nginx -t, reload, TLS handshake serving the new leaf and chain, the
 *   previous files put back and checked served if anything fails.
 *
 * ISSUED_FILE records which directory issued the installed leaf, so a certificate installed by
 * hand (or by the lab) is replaced once, and a second apply changes nothing.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
  type Recipe,
  resolveInventoryPath,
} from '../../src/engine/contract.js';
import { applianceFactSpec } from '../appliance/facts.js';
import { PEXAPP, PEXIP_PEM } from '../appliance/paths.js';
import { NGINX_RELOAD, NGINX_TEST } from '../services/nginx.js';
import { csrCommand, discardCommand, ISSUED_FILE, installSteps } from './acme-appliance.js';
import { dnsNames, leafFingerprint, orderNames, parseIssued, renewalReason } from './acme-due.js';
import {
  CHALLENGE_DIR,
  hasChallengeLocation,
  LocationProblem,
  withChallengeLocation,
} from './acme-location.js';
import { ACME_ACQUIRER, type AcmeOrderRequest } from './acme-order.js';
import { type AcmeKeyType, type AcmeSection, DEFAULT_RENEW_BEFORE_DAYS } from './acme-schema.js';
import { pemCertificates } from './describe.js';
import {
  certificateLines,
  fqdnFor,
  installedCertificates,
  inventoryFqdn,
  servesCheck,
  servesPreviousCheck,
} from './recipe.js';
import { type CertificateSection, certificateInventorySection } from './schema.js';

export interface AcmeDesired {
  directory: string;
  ca?: string;
  contact: string[];
  accountKey: AcmeOrderRequest['accountKey'];
  eab?: AcmeOrderRequest['eab'];
  /** hostname.domain from the inventory; undefined: the name the appliance reports */
  fqdn: string | undefined;
  extraNames: string[];
  keyType: AcmeKeyType;
  renewBefore: number;
  force: boolean;
}

export const acmeSectionOf = (appliance: ApplianceConfig): AcmeSection | undefined =>
  (appliance.sections.certificate as CertificateSection | undefined)?.acme;

/** Why an appliance's certificate.acme certificate is due now (not forced), from its facts. */
export function acmeRenewalDue(
  section: AcmeSection,
  fqdn: string,
  facts: HostFacts,
  now: Date,
): string | undefined {
  const settings = {
    directory: section.directory,
    keyType: section.keyType ?? 'rsa-2048',
    renewBefore: section.renewBefore ?? DEFAULT_RENEW_BEFORE_DAYS,
    force: false,
  };
  const names = orderNames(fqdn, section.extraNames ?? []);
  return renewalReason(
    settings,
    names,
    installedCertificates(facts, PEXIP_PEM),
    facts.text(ISSUED_FILE),
    now,
  );
}

// ---------------------------------------------------------------------------------------------
// The challenge location

function planChallenge(_desired: true, facts: HostFacts, ctx: PlanContext): PlanResult {
  const file = facts.file(PEXAPP);
  if (!file.exists)
    throw new HostError('plan', `${ctx.host}: ${PEXAPP} does not exist (has the install wizard run?)`);
  let edited: string | undefined;
  try {
    edited = withChallengeLocation(file.content.toString('latin1'));
  } catch (err) {
    if (err instanceof LocationProblem) throw new HostError('plan', `${ctx.host}: ${PEXAPP} ${err.message}`);
    throw err;
  }
  if (edited === undefined) return { changes: [] };
  const change: Change = {
    summary: `answer ACME HTTP-01 challenges in the port-80 server (location ^~ /.well-known/acme-challenge/ -> ${CHALLENGE_DIR})`,
    writes: [{ path: PEXAPP, content: Buffer.from(edited, 'latin1') }],
    validate: [NGINX_TEST],
    notify: [NGINX_RELOAD],
  };
  return { changes: [change] };
}

export const certificateAcmeChallengeRecipe = defineRecipe({
  name: 'certificate-acme-challenge',
  description: "the ACME HTTP-01 challenge location in pexapp's port-80 server (certificate.acme)",
  section: certificateInventorySection,
  desired: (section) => (section.acme ? true : undefined),
  facts: { files: [{ path: PEXAPP }] },
  plan: planChallenge,
  verify: (_desired, after) => [
    {
      kind: 'assert',
      ok: hasChallengeLocation(after.text(PEXAPP) ?? ''),
      message: `${PEXAPP} answers ACME challenges on port 80`,
    },
  ],
});

// ---------------------------------------------------------------------------------------------
// The renewal

function acmeDesired(section: AcmeSection, ctx: DesiredContext, force: boolean): AcmeDesired {
  const where = `${ctx.appliance.name}: certificate.acme`;
  const accountKey = ctx.secret(section.accountKey);
  try {
    createPrivateKey(accountKey);
  } catch {
    throw new InputError(
      `${where}.accountKey (${describeSecretRef(section.accountKey)}): not a PEM private key`,
    );
  }
  if (section.eab && !/^[A-Za-z0-9_-]+={0,2}$/.test(ctx.secret(section.eab.hmacKey).trim()))
    throw new InputError(
      `${where}.eab.hmacKey (${describeSecretRef(section.eab.hmacKey)}): not a base64url key`,
    );
  let ca: string | undefined;
  if (section.caFile) {
    const path = resolveInventoryPath(section.caFile, dirname(resolve(ctx.appliance.source.file)));
    try {
      ca = readFileSync(path, 'utf8');
      if (pemCertificates(ca).length === 0) throw new Error('no certificate');
    } catch {
      throw new InputError(`${where}.caFile ${path}: not a readable PEM certificate file`);
    }
  }
  return {
    directory: section.directory,
    ...(ca ? { ca } : {}),
    contact: section.email ? [`mailto:${section.email}`] : [],
    accountKey: section.accountKey,
    ...(section.eab ? { eab: section.eab } : {}),
    fqdn: inventoryFqdn(ctx.appliance),
    extraNames: section.extraNames ?? [],
    keyType: section.keyType ?? 'rsa-2048',
    renewBefore: section.renewBefore ?? DEFAULT_RENEW_BEFORE_DAYS,
    force,
  };
}

function planRenewal(desired: AcmeDesired, facts: HostFacts, ctx: PlanContext): PlanResult {
  const names = orderNames(fqdnFor(desired.fqdn, facts, ctx.host), desired.extraNames);
  const installed = installedCertificates(facts, PEXIP_PEM);
  const reason = renewalReason(desired, names, installed, facts.text(ISSUED_FILE), ctx.now);
  if (!reason) return { changes: [] };
  const request: AcmeOrderRequest = {
    directory: desired.directory,
    ...(desired.ca ? { ca: desired.ca } : {}),
    contact: desired.contact,
    accountKey: desired.accountKey,
    ...(desired.eab ? { eab: desired.eab } : {}),
    names,
    csrCommand: csrCommand(names, desired.keyType),
    discardCommand,
    challengeDir: CHALLENGE_DIR,
  };
  const old =
    typeof installed === 'string' ? [`- (${installed})`] : certificateLines('-', installed, ctx.now);
  return {
    changes: [
      {
        summary: `renewal due: ${reason}; order ${names.join(', ')} from ${desired.directory}`,
        acquire: ACME_ACQUIRER.acquisition(request, (issued) =>
          installSteps(issued, names, desired.directory),
        ),
        validate: [NGINX_TEST],
        notify: [NGINX_RELOAD],
        display: [
          `${PEXIP_PEM} (ACME; the new private key is made on the appliance and never shown)`,
          ...old,
          `+ ordered at apply from ${desired.directory}`,
          `+ names    ${names.join(', ')}`,
          `+ key      ${desired.keyType}`,
        ]
          .join('\n')
          .concat('\n'),
      },
    ],
  };
}

function verifyRenewal(desired: AcmeDesired, after: HostFacts, ctx: PlanContext): Check[] {
  const fqdn = fqdnFor(desired.fqdn, after, ctx.host);
  const names = orderNames(fqdn, desired.extraNames);
  const installed = installedCertificates(after, PEXIP_PEM);
  if (typeof installed === 'string' || installed.length === 0)
    return [{ kind: 'assert', ok: false, message: `${PEXIP_PEM} holds a certificate` }];
  const issued = parseIssued(after.text(ISSUED_FILE));
  return [
    {
      kind: 'assert',
      ok:
        issued.leaf === leafFingerprint(installed[0]!) &&
        names.every((n) => dnsNames(installed[0]!).includes(n)),
      message: `${PEXIP_PEM} holds the issued certificate for ${names.join(', ')}`,
    },
    servesCheck(installed, fqdn, `nginx serves the issued certificate for ${fqdn}`),
  ];
}

/** The renewal recipe; `force` (`cert renew --force`) makes every appliance it runs on due. */
export function acmeRenewalRecipe(options: { force: boolean }): Recipe<AcmeDesired> {
  return defineRecipe({
    name: 'certificate-acme',
    description: 'pexip.pem issued by an ACME CA, renewed when due; the key is made on the appliance',
    section: certificateInventorySection,
    desired: (section, ctx) => (section.acme ? acmeDesired(section.acme, ctx, options.force) : undefined),
    facts: mergeFactSpecs([
      applianceFactSpec,
      { files: [{ path: PEXIP_PEM, read: 'certificates' }, { path: ISSUED_FILE }] },
    ]),
    plan: planRenewal,
    verify: verifyRenewal,
    verifyRestored: (desired, before, _after, ctx) =>
      servesPreviousCheck(
        desired.fqdn,
        before,
        ctx.host,
        (previous) => `nginx serves the previous certificate ${previous} again`,
      ),
  });
}

export const certificateAcmeRecipe = acmeRenewalRecipe({ force: false });
