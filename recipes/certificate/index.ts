/**
 * The TLS certificate nginx serves: the recipe, `rpctl facts`' certificate part, the served
 * certificate's expiry for `rpctl drift`, the TLS probe that verifies what is served, and
 * certificate.acme: the challenge location, the renewal and its ACME order (acme*.ts).
 */
import { defineConcern } from '../../src/engine/contract.js';
import { certificateAcmeChallengeRecipe, certificateAcmeRecipe } from './acme.js';
import { ACME_ACQUIRER } from './acme-order.js';
import { certCommands, certGroup } from './commands.js';
import { describeCertificateFacts } from './describe.js';
import { certificateExpiry } from './expiry.js';
import { certificateRecipe } from './recipe.js';
import { certificateInventorySection } from './schema.js';
import { TLS_PROBE } from './tls-probe.js';

export const certificateConcern = defineConcern({
  name: 'certificate',
  // the challenge location before the renewal: the order needs it live
  recipes: [certificateRecipe, certificateAcmeChallengeRecipe, certificateAcmeRecipe],
  sections: [certificateInventorySection],
  describeFacts: (facts, _host, now) => describeCertificateFacts(facts, now),
  driftChecks: [certificateExpiry],
  probes: [TLS_PROBE],
  commands: certCommands,
  commandGroups: [certGroup],
  acquirers: [ACME_ACQUIRER],
});
