/** The TURN server's part of what `rpctl facts` prints: its addresses, realm and port. */
import type { HostFacts } from '../../src/engine/contract.js';
import { TURNSERVER_CONF, turnserverSettings } from '../services/turnserver-conf.js';

export function describeTurn(facts: HostFacts): Record<string, unknown> {
  const turn = turnserverSettings(facts.text(TURNSERVER_CONF));
  return {
    turn: {
      listeningIps: turn.get('listening-ip') ?? [],
      relayIps: turn.get('relay-ip') ?? [],
      externalIp: turn.get('external-ip')?.[0] ?? null,
      realm: turn.get('realm')?.[0] ?? null,
      listeningPort: Number(turn.get('listening-port')?.[0] ?? 3478),
    },
  };
}
