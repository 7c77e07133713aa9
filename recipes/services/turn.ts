/**
 * The TURN server's restart, shared by the concerns that change its configuration (turn-nat,
 * second-nic). The service is rfc5766-turn-server on a v4 appliance and coturn on v7
 * (recipes/appliance/facts.ts tells which); the handler id is the same, so it runs once per host.
 */
import { type Handler, sh } from '../../src/engine/contract.js';
import type { TurnService } from '../appliance/facts.js';

/** Cuts every call relayed through the appliance: disruptive. */
export const restartTurn = (service: TurnService): Handler => ({
  id: 'turn:restart',
  command: sh`service ${service} restart`,
  disruptive: true,
});

/** A stopped TURN server relays no call, so starting it interrupts nothing; fails unless it runs. */
export const startTurn = (service: TurnService): Handler => ({
  id: 'turn:start',
  command: sh`service ${service} start && service ${service} status >/dev/null 2>&1`,
  disruptive: false,
});
