/**
 * second-nic: the guide's dual-NIC appliance ("Configuring a second NIC", "Appendix 2"), from the
 * `network` inventory section (recipes/network/schema.ts):
 *
 *   v4  /etc/network/interfaces in the guide's shape (recipes/network/interfaces-file.ts), checked with ifupdown's
 *       dry run (`ifup --no-act`) before it is applied
 *   v7  /etc/netplan/01-netcfg.yaml (recipes/network/netplan-file.ts), checked with `netplan generate`
 *   both: the network restarted from the file (recipes/network/restart.ts), then `relay-ip=` of
 *       /etc/turnserver.conf set to the external address and TURN restarted (the guide's last step)
 *
 * Both changes interrupt calls (disruptive: deferred without --allow-disruptive). The network
 * restart may cut rpctl's own path, so the engine applies it commit-confirmed: the host rolls back
 * by itself unless rpctl reconnects (over `managementAddress`, default the SSH host), verifies the
 * addresses and routes the host really has, and confirms.
 */
import {
  type Check,
  defineRecipe,
  HostError,
  type HostFacts,
  type PlanContext,
  type PlanResult,
} from '../../src/engine/contract.js';
import { applianceFactSpec, applianceFacts, type Generation } from '../appliance/facts.js';
import { restartTurn } from '../services/turn.js';
import {
  addressValues,
  setRelayIp,
  TURNSERVER_CONF,
  TURNSERVER_SECRET_LINES,
} from '../services/turnserver-conf.js';
import {
  describeInterfaces,
  droppedByRewrite,
  headerOf,
  parseInterfaces,
  renderInterfaces,
  V4_NICS,
} from './interfaces-file.js';
import { ADDRESSES_FACT, ipFactCommands, parseAddresses, parseRoutes, ROUTES_FACT } from './ip-facts.js';
import { describeNetplan, parseNetplan, renderNetplan, V7_NICS } from './netplan-file.js';
import { networkFileCheck, networkRestart } from './restart.js';
import { type NetworkDesired, networkInventorySection, normalizeNetwork } from './schema.js';

const nicsOf = (generation: Generation) => (generation === 'v4' ? V4_NICS : V7_NICS);

function renderFor(generation: Generation, desired: NetworkDesired, current: string | undefined): string {
  const header = headerOf(current);
  return generation === 'v4' ? renderInterfaces(desired, header) : renderNetplan(desired, header);
}

function describe(desired: NetworkDesired, generation: Generation): string {
  const { internal, external } = desired;
  const nics = nicsOf(generation);
  const routes = desired.routes.map((r) => `, route ${r.address}/${r.prefix} via ${r.via}`).join('');
  return `${nics.internal} ${internal.address}/${internal.prefix} (internal, no gateway), ${nics.external} ${external.address}/${external.prefix} gateway ${external.gateway} dns ${external.dns.join(' ')}${routes}`;
}

function plan(desired: NetworkDesired, facts: HostFacts, ctx: PlanContext): PlanResult {
  const appliance = applianceFacts(facts, ctx.host);
  const { generation, networkFile } = appliance;
  const current = facts.text(networkFile);
  const wanted = renderFor(generation, desired, current);
  const changes: PlanResult['changes'] = [];
  const warnings: string[] = [];
  if (wanted !== current) {
    const was = generation === 'v4' ? parseInterfaces(current) : parseNetplan(current);
    const dropped = 'stanzas' in was ? droppedByRewrite(was) : was.dropped;
    if (dropped.length > 0)
      warnings.push(`${networkFile}: the new file leaves out ${dropped.map((d) => `\`${d}\``).join(', ')}`);
    const before = 'stanzas' in was ? describeInterfaces(was) : describeNetplan(was);
    changes.push({
      summary: `${describe(desired, generation)} (was ${before}); restart the network, commit-confirmed`,
      writes: [{ path: networkFile, content: wanted }],
      validate: [networkFileCheck(generation)],
      notify: [networkRestart(generation, desired.managementAddress)],
    });
  }
  const conf = facts.file(TURNSERVER_CONF);
  if (!conf.exists) {
    throw new HostError(
      'plan',
      `${ctx.host}: ${TURNSERVER_CONF} does not exist, so relay-ip cannot follow the external NIC (has the install wizard run?)`,
    );
  }
  const text = conf.content.toString('latin1'); // one byte per character: the rest survives exactly
  const edited = setRelayIp(text, desired.external.address);
  if (edited !== text) {
    const was = addressValues(text, 'relay-ip').join(', ') || 'none';
    changes.push({
      summary: `relay-ip=${desired.external.address} (was ${was}), restart ${appliance.turnService}`,
      writes: [
        {
          path: TURNSERVER_CONF,
          content: Buffer.from(edited, 'latin1'),
          secretLines: TURNSERVER_SECRET_LINES,
        },
      ],
      notify: [restartTurn(appliance.turnService)],
    });
  }
  const listening = addressValues(text, 'listening-ip');
  const ours = [desired.internal.address, desired.external.address];
  const stray = listening.filter((ip) => !ours.includes(ip));
  if (stray.length > 0)
    warnings.push(
      `${TURNSERVER_CONF} listens on ${stray.join(', ')}, which neither NIC will have; TURN will not answer there`,
    );
  return { changes, warnings };
}

function verify(desired: NetworkDesired, after: HostFacts, ctx: PlanContext): Check[] {
  const checks: Check[] = [];
  const assert = (ok: boolean, message: string) => checks.push({ kind: 'assert', ok, message });
  let appliance: ReturnType<typeof applianceFacts>;
  try {
    appliance = applianceFacts(after, ctx.host);
  } catch (err) {
    if (!(err instanceof HostError)) throw err;
    return [{ kind: 'assert', ok: false, message: err.message }];
  }
  const nics = nicsOf(appliance.generation);
  const file = after.text(appliance.networkFile);
  assert(file === renderFor(appliance.generation, desired, file), `${appliance.networkFile} is as planned`);
  const addresses = parseAddresses(after.command(ADDRESSES_FACT)?.output ?? '');
  for (const [nic, want] of [
    [nics.internal, desired.internal],
    [nics.external, desired.external],
  ] as const) {
    const state = addresses.get(nic);
    const expected = `${want.address}/${want.prefix}`;
    const has = state?.ipv4.join(', ') || 'no IPv4 address';
    assert(
      state?.up !== false && state?.ipv4.length === 1 && state.ipv4[0] === expected,
      `${nic} is up with exactly ${expected} (has ${state ? has : 'no such NIC'}${state?.up === false ? ', down' : ''})`,
    );
  }
  const routes = parseRoutes(after.command(ROUTES_FACT)?.output ?? '');
  const defaults = routes.filter((r) => r.to === 'default');
  assert(
    defaults.length === 1 &&
      defaults[0]!.via === desired.external.gateway &&
      defaults[0]!.dev === nics.external,
    `the only default route is via ${desired.external.gateway} on ${nics.external} (has ${defaults.map((r) => `via ${r.via} on ${r.dev}`).join('; ') || 'none'})`,
  );
  for (const route of desired.routes) {
    const to = `${route.address}/${route.prefix}`;
    const found = routes.find((r) => r.to === to);
    assert(
      found?.via === route.via,
      `route ${to} via ${route.via} (has ${found ? `via ${found.via ?? 'none'}` : 'none'})`,
    );
  }
  const relay = addressValues(after.text(TURNSERVER_CONF) ?? '', 'relay-ip');
  assert(
    relay.length === 1 && relay[0] === desired.external.address,
    `${TURNSERVER_CONF} has relay-ip=${desired.external.address} (found ${relay.join(', ') || 'none'})`,
  );
  const turn = appliance.services[appliance.turnService];
  assert(turn === 'running', `${appliance.turnService} is ${turn}`);
  return checks;
}

/** After a rollback: the NICs have the addresses and default route they had before the change. */
function verifyRestored(
  _desired: NetworkDesired,
  before: HostFacts,
  after: HostFacts,
  ctx: PlanContext,
): Check[] {
  const { generation } = applianceFacts(before, ctx.host);
  const nics = nicsOf(generation);
  const addresses = (facts: HostFacts) => parseAddresses(facts.command(ADDRESSES_FACT)?.output ?? '');
  const [was, now] = [addresses(before), addresses(after)];
  const checks: Check[] = [nics.internal, nics.external].map((nic) => {
    const [a, b] = [was.get(nic)?.ipv4.join(', ') || 'none', now.get(nic)?.ipv4.join(', ') || 'none'];
    return {
      kind: 'assert',
      ok: a === b,
      message: `${nic} has its previous addresses again: ${a} (now ${b})`,
    };
  });
  const gateways = (facts: HostFacts) =>
    parseRoutes(facts.command(ROUTES_FACT)?.output ?? '')
      .filter((r) => r.to === 'default')
      .map((r) => `via ${r.via} on ${r.dev}`)
      .join('; ') || 'none';
  const [g1, g2] = [gateways(before), gateways(after)];
  checks.push({
    kind: 'assert',
    ok: g1 === g2,
    message: `the default route is the previous one again: ${g1} (now ${g2})`,
  });
  return checks;
}

export const secondNicRecipe = defineRecipe({
  name: 'second-nic',
  description:
    'internal + external NIC, static routes and TURN relay-ip (restarts network and TURN: disruptive, commit-confirmed)',
  section: networkInventorySection,
  desired: (section) => normalizeNetwork(section),
  facts: {
    files: applianceFactSpec.files,
    commands: [...(applianceFactSpec.commands ?? []), ...ipFactCommands],
  },
  plan,
  verify,
  verifyRestored,
});
