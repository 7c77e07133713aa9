/**
 * The first-run install wizard: its inventory section (what `rpctl install` answers). No recipe:
 * install is a one-off conversation (recipes/install/wizard.ts), after which the other concerns'
 * recipes plan the appliance as usual.
 */
import { defineConcern } from '../../src/engine/contract.js';
import { install } from './commands.js';
import { installInventorySection } from './schema.js';

export const installConcern = defineConcern({
  name: 'install',
  recipes: [],
  sections: [installInventorySection],
  commands: [install],
});
