/**
 * The TLS certificate nginx serves: the recipe, `rpctl facts`' certificate part, the served
 * certificate's expiry for `rpctl drift`, and the TLS probe that verifies what is served.
 */
import { defineConcern } from '../../src/engine/contract.js';
import { certCommands, certGroup } from './commands.js';
import { describeCertificateFacts } from './describe.js';
import { certificateExpiry } from './expiry.js';
import { certificateRecipe } from './recipe.js';
import { certificateInventorySection } from './schema.js';
import { TLS_PROBE } from './tls-probe.js';

export const certificateConcern = defineConcern({
  name: 'certificate',
  recipes: [certificateRecipe],
  sections: [certificateInventorySection],
  describeFacts: (facts, _host, now) => describeCertificateFacts(facts, now),
  driftChecks: [certificateExpiry],
  probes: [TLS_PROBE],
  commands: certCommands,
  commandGroups: [certGroup],
});
