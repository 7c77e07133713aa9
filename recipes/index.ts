/**
 * The concerns rpctl ships, each listed once. The CLI builds its registry from this list
 * (src/cli/registry.ts); the engine never imports a concern.
 *
 * The order is the apply order, and handlers run in first-notified order, so it matters:
 * - appliance first: its facts and `rpctl facts` part lead every report;
 * - network before TURN: TURN must restart once the addresses it relays on exist;
 * - within TURN, credentials before NAT (recipes/turn/index.ts): a restart verified with an
 *   allocation then uses the new credentials;
 * - services after the concerns whose services they start: a stopped nginx is started by the
 *   same handler their changes notify, once.
 */
import { applianceConcern } from './appliance/index.js';
import { certificateConcern } from './certificate/index.js';
import { fail2banConcern } from './fail2ban/index.js';
import { installConcern } from './install/index.js';
import { networkConcern } from './network/index.js';
import { servicesConcern } from './services/index.js';
import { turnConcern } from './turn/index.js';
import { upstreamsConcern } from './upstreams/index.js';

export const concerns = [
  applianceConcern,
  upstreamsConcern,
  certificateConcern,
  networkConcern,
  turnConcern,
  fail2banConcern,
  servicesConcern,
  installConcern,
] as const;
