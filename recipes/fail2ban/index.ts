/** fail2ban against PIN brute force: enabled or not, and the guide's three tunables. */
import { defineConcern } from '../../src/engine/contract.js';
import { fail2banCommands, fail2banGroup } from './commands.js';
import { describeFail2ban } from './describe.js';
import { fail2banRecipe } from './recipe.js';
import { fail2banInventorySection } from './schema.js';

export const fail2banConcern = defineConcern({
  name: 'fail2ban',
  recipes: [fail2banRecipe],
  sections: [fail2banInventorySection],
  commands: fail2banCommands,
  commandGroups: [fail2banGroup],
  describeFacts: describeFail2ban,
});
