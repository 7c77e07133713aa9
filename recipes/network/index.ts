/** The second NIC: internal and external addresses, static routes, TURN's relay-ip. */
import { defineConcern } from '../../src/engine/contract.js';
import { nicCommands, nicGroup } from './commands.js';
import { networkInventorySection } from './schema.js';
import { secondNicRecipe } from './second-nic.js';

export const networkConcern = defineConcern({
  name: 'network',
  recipes: [secondNicRecipe],
  sections: [networkInventorySection],
  commands: nicCommands,
  commandGroups: [nicGroup],
});
