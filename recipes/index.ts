/**
 * The recipes rpctl ships, in apply order, the inventory sections they read, and the facts every
 * run reads. The CLI hands these to the engine; the engine itself never imports a recipe.
 */
import type { HostFacts, InventorySection, Recipe } from '../src/engine/contract.js';
import { describeFacts, reportFactSpec } from './appliance/describe.js';
import { applianceFacts } from './appliance/facts.js';
import { certificateInventorySection, certificateRecipe } from './certificate/recipe.js';
import { fail2banInventorySection, fail2banRecipe } from './fail2ban/recipe.js';
import { installInventorySection } from './install/schema.js';
import { networkInventorySection } from './network/schema.js';
import { secondNicRecipe } from './network/second-nic.js';
import { turnCredentialsRecipe } from './turn/credentials.js';
import { turnNatRecipe } from './turn/nat.js';
import { turnInventorySection } from './turn/schema.js';
import { upstreamsInventorySection, upstreamsRecipe } from './upstreams/recipe.js';

// The network before TURN: handlers run in first-notified order, and TURN must restart once the
// addresses it relays on exist. Credentials before NAT: a restart verified with an allocation then
// uses the new credentials.
// biome-ignore lint/suspicious/noExplicitAny: each recipe has its own desired-state type
export const recipes: Recipe<any>[] = [
  upstreamsRecipe,
  certificateRecipe,
  secondNicRecipe,
  turnCredentialsRecipe,
  turnNatRecipe,
  fail2banRecipe,
];
export const sections: InventorySection[] = [
  upstreamsInventorySection,
  certificateInventorySection,
  turnInventorySection,
  fail2banInventorySection,
  networkInventorySection,
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
