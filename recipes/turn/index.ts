/**
 * The TURN server: its long-term user and its NAT address, `rpctl facts`' TURN part, and the TURN
 * allocate probe that verifies both with a real allocation.
 */
import { defineConcern } from '../../src/engine/contract.js';
import { TURN_ALLOCATE_PROBE } from './allocate-probe.js';
import { turnCommands, turnGroup } from './commands.js';
import { turnCredentialsRecipe } from './credentials.js';
import { describeTurn } from './describe.js';
import { turnNatRecipe } from './nat.js';
import { turnInventorySection } from './schema.js';

export const turnConcern = defineConcern({
  name: 'turn',
  // Credentials before NAT: a restart verified with an allocation then uses the new credentials.
  recipes: [turnCredentialsRecipe, turnNatRecipe],
  sections: [turnInventorySection],
  describeFacts: describeTurn,
  probes: [TURN_ALLOCATE_PROBE],
  commands: turnCommands,
  commandGroups: [turnGroup],
});
