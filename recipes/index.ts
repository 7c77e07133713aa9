/**
 * The recipes rpctl ships, in apply order, the inventory sections they read, and the facts every
 * run reads. The CLI hands these to the engine; the engine itself never imports a recipe.
 */
import type { HostFacts, InventorySection, Recipe } from '../src/engine/recipe.js';
import { applianceFacts } from './appliance.js';
import { certificateInventorySection, certificateRecipe } from './certificate.js';
import { describeFacts, reportFactSpec } from './facts-report.js';
import { fail2banInventorySection, fail2banRecipe } from './fail2ban.js';
import { installInventorySection } from './install-schema.js';
import { turnCredentialsRecipe } from './turn-credentials.js';
import { turnNatRecipe } from './turn-nat.js';
import { turnInventorySection } from './turn-schema.js';
import { upstreamsInventorySection, upstreamsRecipe } from './upstreams.js';

// Credentials before NAT: a restart verified with an allocation then uses the new credentials.
// biome-ignore lint/suspicious/noExplicitAny: each recipe has its own desired-state type
export const recipes: Recipe<any>[] = [
  upstreamsRecipe,
  certificateRecipe,
  turnCredentialsRecipe,
  turnNatRecipe,
  fail2banRecipe,
];
export const sections: InventorySection[] = [
  upstreamsInventorySection,
  certificateInventorySection,
  turnInventorySection,
  fail2banInventorySection,
  installInventorySection,
];
export const baseFacts = reportFactSpec;
export { describeFacts };

/** The appliance's FQDN (hostname.domain), which its certificate must cover. */
export function serverName(facts: HostFacts, host: string): string | undefined {
  try {
    return applianceFacts(facts, host).fqdn;
  } catch {
    return undefined;
  }
}
