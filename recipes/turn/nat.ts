/**
 * turn-nat: the public NAT address of the TURN server, the `external-ip=` line of
 * /etc/turnserver.conf. It automates the guide's "Configuring NAT for the TURN server": add
 * external-ip=<public address>, then `sudo service rfc5766-turn-server restart` (v4; `coturn` on v7).
 *
 *   turn:
 *     externalIp: 203.0.113.10     # set; null removes the line; absent leaves it alone
 *
 * The restart cuts every call relayed through the appliance, so the change is disruptive: without
 * --allow-disruptive, plan marks it and apply defers it (exit 2). Only the external-ip line
 * changes; rpctl keeps exactly one (coturn silently uses the first of several).
 *
 * Verified with a fresh TURN allocation (when the section has credentials to allocate with): the
 * relayed address is the external IP (or the relay address once it is removed). Without
 * credentials, the file and a running TURN service are checked.
 */
import {
  type Check,
  defineRecipe,
  HostError,
  type HostFacts,
  InputError,
  type PlanContext,
  type PlanResult,
  type SecretRef,
} from '../../src/engine/contract.js';
import { isIPv4 } from '../../src/inventory/types.js';
import { applianceFactSpec, applianceFacts, type TurnService } from '../appliance/facts.js';
import { restartTurn } from '../services/turn.js';
import {
  externalIpValues,
  setExternalIp,
  TURNSERVER_CONF,
  TURNSERVER_SECRET_LINES,
  turnAddresses,
} from '../services/turnserver-conf.js';
import { TURN_ALLOCATE_PROBE } from './allocate-probe.js';
import { externalIpProblem, type TurnSection, turnInventorySection, turnUsernameProblem } from './schema.js';

export interface TurnNatDesired {
  /** null: no external-ip line */
  externalIp: string | null;
  /** the section's credentials, to verify with a real allocation */
  probe?: { username: string; password: SecretRef; realm?: string };
}

const family = (ip: string) => (isIPv4(ip) ? 'IPv4' : 'IPv6');

function plan(desired: TurnNatDesired, facts: HostFacts, ctx: PlanContext): PlanResult {
  const appliance = applianceFacts(facts, ctx.host);
  const file = facts.file(TURNSERVER_CONF);
  if (!file.exists) {
    throw new HostError(
      'plan',
      `${ctx.host}: ${TURNSERVER_CONF} does not exist; the TURN server is not set up (has the install wizard run?)`,
    );
  }
  // latin1 maps each byte to one character and back: bytes outside the edit survive exactly.
  const text = file.content.toString('latin1');
  const edited = setExternalIp(text, desired.externalIp);
  if (edited === text) return { changes: [] };
  const addresses = turnAddresses(text);
  const warnings: string[] = [];
  const relay = addresses.relayIps[0] ?? addresses.listeningIps[0];
  if (desired.externalIp !== null && relay !== undefined && family(relay) !== family(desired.externalIp)) {
    warnings.push(
      `external-ip ${desired.externalIp} is ${family(desired.externalIp)} but the TURN server relays from ${relay} (${family(relay)}); coturn maps only addresses of the same family`,
    );
  }
  const before = externalIpValues(text);
  const was = before.length ? before.join(', ') : 'none';
  const what = desired.externalIp === null ? 'remove external-ip' : `set external-ip=${desired.externalIp}`;
  const list = (ips: string[]) => (ips.length ? ips.join(', ') : 'all addresses');
  const where = `relays from ${list(addresses.relayIps)}, listens on ${list(addresses.listeningIps)} port ${addresses.listeningPort}`;
  return {
    changes: [
      {
        summary: `${what} (was ${was}; ${where}), restart ${appliance.turnService}`,
        writes: [
          {
            path: TURNSERVER_CONF,
            content: Buffer.from(edited, 'latin1'),
            secretLines: TURNSERVER_SECRET_LINES,
          },
        ],
        notify: [restartTurn(appliance.turnService)],
      },
    ],
    warnings,
  };
}

function verify(desired: TurnNatDesired, after: HostFacts, ctx: PlanContext): Check[] {
  const text = after.text(TURNSERVER_CONF) ?? '';
  const lines = externalIpValues(text);
  const want = desired.externalIp === null ? [] : [desired.externalIp];
  const checks: Check[] = [
    {
      kind: 'assert',
      ok: lines.length === want.length && setExternalIp(text, desired.externalIp) === text,
      message: `${TURNSERVER_CONF} has ${want.length ? `external-ip=${want[0]}` : 'no external-ip'} (found ${lines.join(', ') || 'none'})`,
    },
  ];
  let service: TurnService | undefined;
  try {
    const appliance = applianceFacts(after, ctx.host);
    service = appliance.turnService;
    checks.push({
      kind: 'assert',
      ok: appliance.services[service] === 'running',
      message: `${service} is ${appliance.services[service]} after the restart`,
    });
  } catch (err) {
    if (!(err instanceof HostError)) throw err;
    checks.push({ kind: 'assert', ok: false, message: err.message });
  }
  const addresses = turnAddresses(text);
  const realm = desired.probe?.realm ?? addresses.realm;
  if (desired.probe && realm) {
    const relayed = desired.externalIp ?? addresses.relayIps[0] ?? addresses.listeningIps[0];
    checks.push(
      TURN_ALLOCATE_PROBE.check(
        {
          port: addresses.listeningPort,
          username: desired.probe.username,
          password: desired.probe.password,
          realm,
          expect: { outcome: 'success', ...(relayed === undefined ? {} : { relayedAddress: relayed }) },
        },
        `a fresh TURN allocation is relayed at ${relayed ?? 'an address'}${service ? ` (${service} restarted)` : ''}`,
      ),
    );
  }
  return checks;
}

export function turnNatOf(turn: TurnSection | undefined, host: string): TurnNatDesired | undefined {
  if (turn?.externalIp === undefined) return undefined;
  const problem = turn.externalIp === null ? undefined : externalIpProblem(turn.externalIp);
  if (problem) throw new InputError(`${host}: turn.externalIp: ${problem}`);
  const credentials = turn.credentials;
  const usable = credentials !== undefined && turnUsernameProblem(credentials.username) === undefined;
  return {
    externalIp: turn.externalIp,
    ...(usable
      ? {
          probe: {
            username: credentials.username,
            password: credentials.password,
            ...(credentials.realm === undefined ? {} : { realm: credentials.realm }),
          },
        }
      : {}),
  };
}

export const turnNatRecipe = defineRecipe({
  name: 'turn-nat',
  description: 'the NAT external-ip of the TURN server (restarts TURN: disruptive, cuts relayed calls)',
  section: turnInventorySection,
  desired: (section, ctx) => turnNatOf(section, ctx.appliance.name),
  facts: applianceFactSpec, // it reads /etc/turnserver.conf and the TURN service's state
  plan,
  verify,
});
