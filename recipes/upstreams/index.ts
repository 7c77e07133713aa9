/** The conferencing nodes nginx forwards to (`upstream pexip` in pexapp). */
import { defineConcern } from '../../src/engine/contract.js';
import { upstreamCommands, upstreamGroup } from './commands.js';
import { upstreamsRecipe } from './recipe.js';
import { upstreamsInventorySection } from './schema.js';

export const upstreamsConcern = defineConcern({
  name: 'upstreams',
  recipes: [upstreamsRecipe],
  sections: [upstreamsInventorySection],
  commands: upstreamCommands,
  commandGroups: [upstreamGroup],
});
