/**
 * Services: nginx and the TURN server kept running where the inventory manages what they
 * serve (recipes/services/running.ts); the handlers and checks the other concerns share live
 * beside it (nginx.ts, turn.ts, turnserver-conf.ts).
 */
import { defineConcern } from '../../src/engine/contract.js';
import { nginxHandshakeProbe } from './nginx.js';
import { servicesRecipe } from './running.js';

export const servicesConcern = defineConcern({
  name: 'services',
  recipes: [servicesRecipe],
  sections: [],
  probes: [nginxHandshakeProbe],
});
