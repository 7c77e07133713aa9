/**
 * The recipes rpctl ships, in apply order, and the inventory sections they read. The CLI hands
 * these to the engine; the engine itself never imports a recipe.
 */
import type { InventorySection, Recipe } from '../src/engine/recipe.js';
import { upstreamsInventorySection, upstreamsRecipe } from './upstreams.js';

// biome-ignore lint/suspicious/noExplicitAny: each recipe has its own desired-state type
export const recipes: Recipe<any>[] = [upstreamsRecipe];
export const sections: InventorySection[] = [upstreamsInventorySection];
