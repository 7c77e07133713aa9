/**
 * The recipes rpctl ships, in apply order, the inventory sections they read, and the facts every
 * run reads. The CLI hands these to the engine; the engine itself never imports a recipe.
 */
import type { InventorySection, Recipe } from '../src/engine/recipe.js';
import { describeFacts, reportFactSpec } from './facts-report.js';
import { turnCredentialsRecipe } from './turn-credentials.js';
import { turnNatRecipe } from './turn-nat.js';
import { turnInventorySection } from './turn-schema.js';
import { upstreamsInventorySection, upstreamsRecipe } from './upstreams.js';

// Credentials before NAT: a restart verified with an allocation then uses the new credentials.
// biome-ignore lint/suspicious/noExplicitAny: each recipe has its own desired-state type
export const recipes: Recipe<any>[] = [upstreamsRecipe, turnCredentialsRecipe, turnNatRecipe];
export const sections: InventorySection[] = [upstreamsInventorySection, turnInventorySection];
export const baseFacts = reportFactSpec;
export { describeFacts };
