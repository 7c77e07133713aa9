/**
 * certificate-rollback: the guide's "restore the previous certificate" (copy pexip.pem.backup over
 * pexip.pem, restart nginx), done safely. Used by `rpctl cert rollback`; not part of `apply`,
 * which converges to the inventory instead.
 *
 * The backup holds a private key, so it is never read into this machine: a RemoteStep copies it
 * into place on the host (checking both files are still as planned, then temp file + rename,
 * 0400 root:root), `nginx -t` validates, `service nginx reload` applies. Facts read only the
 * certificates of both files; verification expects the backup's certificate to be served, and a
 * failure puts the current file back (the engine backs up what the step touches).
 */

import {
  type Check,
  HostError,
  type HostFacts,
  mergeFactSpecs,
  type PlanContext,
  type PlanResult,
  type Recipe,
  sh,
} from '../../src/engine/contract.js';
import { applianceFactSpec } from '../appliance/facts.js';
import { PEXIP_PEM_STAGING } from '../appliance/paths.js';
import { NGINX_RELOAD, NGINX_TEST } from '../services/nginx.js';
import { nameProblem } from './pem.js';
import {
  certificateLines,
  fqdnFor,
  installedCertificates,
  inventoryFqdn,
  PEXIP_PEM,
  PEXIP_PEM_BACKUP,
  servesCheck,
  servesPreviousCheck,
} from './recipe.js';

export interface RollbackDesired {
  /** hostname.domain from the inventory; undefined: the name the appliance reports */
  fqdn: string | undefined;
}

const STAGING = PEXIP_PEM_STAGING;

/** Copy the backup into place atomically, if both files are still what was planned. */
function restoreStep(backupSha256: string, currentSha256: string | undefined) {
  const sum = (path: string) => sh`"$(sha256sum < ${path} | cut -c1-64)"`;
  const current = currentSha256 ? sh`[ ${sum(PEXIP_PEM)} = ${currentSha256} ]` : sh`[ ! -e ${PEXIP_PEM} ]`;
  return {
    summary: `copy ${PEXIP_PEM_BACKUP} over ${PEXIP_PEM}`,
    command: sh`if ! [ ${sum(PEXIP_PEM_BACKUP)} = ${backupSha256} ] || ! ${current}; then echo ${'pexip.pem or pexip.pem.backup changed since it was planned; run again'}; exit 1; fi; cp ${PEXIP_PEM_BACKUP} ${STAGING} && chown root:root ${STAGING} && chmod 0400 ${STAGING} && mv -f ${STAGING} ${PEXIP_PEM}`,
    touches: [PEXIP_PEM],
  };
}

function plan(desired: RollbackDesired, facts: HostFacts, ctx: PlanContext): PlanResult {
  const backup = facts.file(PEXIP_PEM_BACKUP);
  if (!backup.exists) throw new HostError('plan', `${ctx.host}: no ${PEXIP_PEM_BACKUP} to restore`);
  const current = facts.file(PEXIP_PEM);
  if (current.exists && current.sha256 === backup.sha256) return { changes: [] };
  const restored = installedCertificates(facts, PEXIP_PEM_BACKUP);
  if (typeof restored === 'string' || restored.length === 0) {
    throw new HostError(
      'plan',
      `${ctx.host}: ${PEXIP_PEM_BACKUP} holds no readable certificate${typeof restored === 'string' ? ` (${restored})` : ''}; not restoring it`,
    );
  }
  const leaf = restored[0]!;
  const warnings: string[] = [];
  const expires = new Date(leaf.validTo);
  if (expires < ctx.now) warnings.push(`the backup's certificate expired on ${expires.toISOString()}`);
  const problem = nameProblem(leaf, fqdnFor(desired.fqdn, facts, ctx.host));
  if (problem) warnings.push(problem);
  const before = installedCertificates(facts, PEXIP_PEM);
  const old = typeof before === 'string' ? [`- (${before})`] : certificateLines('-', before, ctx.now);
  return {
    changes: [
      {
        summary: `restore ${leaf.subject.replaceAll('\n', ', ')} from ${PEXIP_PEM_BACKUP}`,
        steps: [restoreStep(backup.sha256, current.exists ? current.sha256 : undefined)],
        validate: [NGINX_TEST],
        notify: [NGINX_RELOAD],
        display: [
          `${PEXIP_PEM} <- ${PEXIP_PEM_BACKUP} (the private key is never shown)`,
          ...old,
          ...certificateLines('+', restored, ctx.now),
        ]
          .join('\n')
          .concat('\n'),
      },
    ],
    warnings,
  };
}

function verify(desired: RollbackDesired, after: HostFacts, ctx: PlanContext): Check[] {
  const backup = after.file(PEXIP_PEM_BACKUP);
  const current = after.file(PEXIP_PEM);
  const restored = installedCertificates(after, PEXIP_PEM_BACKUP);
  const checks: Check[] = [
    {
      kind: 'assert',
      ok: backup.exists && current.exists && current.sha256 === backup.sha256,
      message: `${PEXIP_PEM} is a copy of ${PEXIP_PEM_BACKUP}`,
    },
  ];
  if (typeof restored !== 'string' && restored.length > 0) {
    const fqdn = fqdnFor(desired.fqdn, after, ctx.host);
    checks.push(servesCheck(restored, fqdn, `nginx serves the backup's certificate for ${fqdn}`));
  }
  return checks;
}

function verifyRestored(
  desired: RollbackDesired,
  before: HostFacts,
  _after: HostFacts,
  ctx: PlanContext,
): Check[] {
  return servesPreviousCheck(
    desired.fqdn,
    before,
    ctx.host,
    () => 'nginx serves the certificate it served before the rollback',
  );
}

export const certificateRollbackRecipe: Recipe<RollbackDesired> = {
  name: 'certificate-rollback',
  description:
    'put /etc/nginx/ssl/pexip.pem.backup back in place (nginx -t, reload, served certificate checked)',
  section: 'certificate',
  desired: ({ appliance }) => ({ fqdn: inventoryFqdn(appliance) }),
  facts: mergeFactSpecs([
    applianceFactSpec,
    {
      files: [
        { path: PEXIP_PEM, read: 'certificates' },
        { path: PEXIP_PEM_BACKUP, read: 'certificates' },
      ],
    },
  ]),
  plan,
  verify,
  verifyRestored,
};
