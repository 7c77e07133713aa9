/**
 * `rpctl cert status`: per appliance, the installed certificate (read without its key), whether it
 * is the inventory's, and whether nginx serves it: a real TLS handshake from this machine to the
 * appliance's address with SNI = its FQDN.
 *
 *   lab-1 (lab-1.lab.example.com): ok
 *     subject  CN=lab-1.lab.example.com
 *     ...
 *     desired  matches the inventory
 *     served   the installed certificate
 */
import type { X509Certificate } from 'node:crypto';
import pLimit from 'p-limit';
import type {
  ApplianceConfig,
  FleetResult,
  HostFacts,
  HostOutcome,
  ReportContext,
} from '../../src/engine/contract.js';
import { oneLine, RpctlError } from '../../src/engine/contract.js';
import { applianceFacts } from '../appliance/facts.js';
import { acmeRenewalDue, acmeSectionOf } from './acme.js';
import { describeCertificate, pemCertificates } from './describe.js';
import { certificateRecipe, inventoryFqdn, PEXIP_PEM } from './recipe.js';

type CertificateInfo = ReturnType<typeof describeCertificate>;

export interface CertificateStatus {
  name: string;
  /** ok; drift: not the inventory's, not what is served, or expired; failed/unreachable: see error */
  status: 'ok' | 'drift' | 'failed' | 'unreachable';
  error?: string;
  fqdn?: string;
  installed?: (CertificateInfo & { chain: CertificateInfo[] }) | null;
  /** null when the inventory declares no certificate (or declares an invalid one: desiredProblem) */
  matchesDesired: boolean | null;
  desiredProblem?: string;
  /** certificate.acme manages it: why a renewal is due, if it is */
  acme?: { due?: string };
  served?: { fingerprint256: string; chain: string[]; matchesInstalled: boolean } | { error: string };
}

const PROBES_AT_ONCE = 20;

function desiredSha256(
  appliance: ApplianceConfig,
  ctx: ReportContext,
): { sha256?: string; problem?: string } {
  try {
    return { sha256: ctx.desired(certificateRecipe, appliance)?.sha256 };
  } catch (err) {
    if (err instanceof RpctlError) return { problem: err.message };
    throw err;
  }
}

async function hostStatus(
  outcome: HostOutcome,
  appliance: ApplianceConfig,
  ctx: ReportContext,
  now: Date,
): Promise<CertificateStatus> {
  const name = outcome.name;
  if (outcome.error || !outcome.facts) {
    const status = outcome.status === 'unreachable' ? 'unreachable' : 'failed';
    return { name, status, error: outcome.error?.message ?? 'no facts were read', matchesDesired: null };
  }
  const facts: HostFacts = outcome.facts;
  let certs: X509Certificate[];
  try {
    certs = pemCertificates(facts.text(PEXIP_PEM));
  } catch (err) {
    const error = `${name}: ${PEXIP_PEM} does not parse: ${oneLine(err)}`;
    return { name, status: 'failed', error, matchesDesired: null };
  }
  const [leaf, ...chain] = certs;
  const installed = leaf
    ? { ...describeCertificate(leaf, now), chain: chain.map((c) => describeCertificate(c, now)) }
    : null;
  const file = facts.file(PEXIP_PEM);
  const desired = desiredSha256(appliance, ctx);
  const matchesDesired = desired.sha256 === undefined ? null : file.exists && file.sha256 === desired.sha256;
  let fqdn = inventoryFqdn(appliance);
  try {
    fqdn ??= applianceFacts(facts, name).fqdn;
  } catch (err) {
    return { name, status: 'failed', error: oneLine(err), installed, matchesDesired };
  }
  let served: CertificateStatus['served'];
  try {
    const seen = await ctx.tlsChain(appliance.ssh.host, 443, fqdn);
    const matchesInstalled =
      installed !== null &&
      seen[0] === installed.fingerprint256 &&
      installed.chain.every((c, i) => seen[i + 1] === c.fingerprint256);
    served = { fingerprint256: seen[0] ?? '', chain: seen.slice(1), matchesInstalled };
  } catch (err) {
    served = { error: oneLine(err) };
  }
  const acmeSection = acmeSectionOf(appliance);
  const acme = acmeSection && { due: acmeRenewalDue(acmeSection, fqdn, facts, now) };
  const drift =
    acme?.due !== undefined ||
    matchesDesired === false ||
    installed === null ||
    installed.daysLeft < 0 ||
    ('matchesInstalled' in served && !served.matchesInstalled);
  return {
    name,
    status: 'error' in served ? 'failed' : drift ? 'drift' : 'ok',
    ...('error' in served
      ? { error: `${name}: TLS handshake with SNI ${fqdn} failed: ${served.error}` }
      : {}),
    fqdn,
    installed,
    matchesDesired,
    ...(desired.problem ? { desiredProblem: desired.problem } : {}),
    ...(acme ? { acme } : {}),
    served,
  };
}

export async function certificateStatuses(
  result: FleetResult,
  ctx: ReportContext,
): Promise<CertificateStatus[]> {
  const now = new Date(result.startedAt);
  const limit = pLimit(PROBES_AT_ONCE);
  return Promise.all(
    result.hosts.map((outcome) => limit(() => hostStatus(outcome, ctx.appliance(outcome.name), ctx, now))),
  );
}

function hostText(s: CertificateStatus): string {
  const lines = [`${s.name}${s.fqdn ? ` (${s.fqdn})` : ''}: ${s.status}`];
  if (s.error) lines.push(`  ${s.error}`);
  if (s.installed === null) lines.push(`  installed  no certificate in ${PEXIP_PEM}`);
  if (s.installed) {
    const i = s.installed;
    lines.push(
      `  subject  ${i.subject}`,
      `  names    ${i.subjectAltNames.join(', ') || '(no SANs)'}`,
      `  issuer   ${i.issuer}`,
      `  expires  ${i.notAfter.replace(/\.\d+Z$/, 'Z')} (${i.daysLeft < 0 ? 'EXPIRED' : `${i.daysLeft} days left`})`,
      `  sha256   ${i.fingerprint256}`,
      ...i.chain.map(
        (c, n) => `  ${n === 0 ? 'chain  ' : '       '}  ${c.subject} (sha256 ${c.fingerprint256})`,
      ),
    );
  }
  if (s.installed !== undefined) {
    const desired = s.acme
      ? `certificate.acme: ${s.acme.due ? `RENEWAL DUE: ${s.acme.due}` : 'issued through it, not due'}`
      : s.desiredProblem !== undefined
        ? `invalid in the inventory: ${s.desiredProblem}`
        : s.matchesDesired === null
          ? 'no certificate section in the inventory'
          : s.matchesDesired
            ? 'matches the inventory'
            : 'DIFFERS from the inventory';
    lines.push(`  desired  ${desired}`);
  }
  if (s.served && 'matchesInstalled' in s.served) {
    lines.push(
      `  served   ${s.served.matchesInstalled ? 'the installed certificate' : `NOT the installed certificate: sha256 ${s.served.fingerprint256}`}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function renderStatusText(statuses: readonly CertificateStatus[]): string {
  const count = (status: CertificateStatus['status']) => statuses.filter((s) => s.status === status).length;
  const parts = (['ok', 'drift', 'failed', 'unreachable'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`);
  return `${statuses.map(hostText).join('')}\nCertificates: ${parts.join(', ') || 'no hosts'}.\n`;
}
