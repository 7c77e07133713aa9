/**
 * What `rpctl install` answers the v4 install wizard (the 002 guide's ten steps), from the same
 * inventory sections as the v7 answers (../answers.ts). Pure; what the v4 wizard cannot take
 * is an InputError naming the field and saying why, or what to do instead:
 *
 *   install.network with internal/external   one NIC only: the internal one here, the second NIC
 *                                            in the `network` section (second-nic recipe, after)
 *   more than one management network         step 4 takes one network and its netmask
 *   install.snmp, contentSecurityPolicy      the v4 wizard has neither
 *   install.turn mode/port443/mediaNodes/    TURN is one long-term user (`username password`)
 *     sharedSecret                           or `disable`
 *   no install.dns / install.ntp             the v4 wizard offers no defaults
 *   an IPv6 NTP server                       IPv4 only
 *
 * TURN-only (no upstreams): the node list is 169.254.0.1, as the guide says. Proxy-only (TURN off,
 * or no turn.credentials): `disable`. fail2ban.enabled is left to the fail2ban recipe after the
 * reboot (the v4 wizard has no fail2ban step).
 */
import { type ApplianceConfig, InputError, type SecretRef } from '../../../src/engine/contract.js';
import type { TurnSection } from '../../turn/schema.js';
import type { UpstreamsSection } from '../../upstreams/schema.js';
import {
  installBasics,
  managementNetworks,
  prefixToNetmask,
  signalingNodes,
  splitAddress,
} from '../answers.js';
import type { InstallSection } from '../schema.js';

/** The node a TURN-only v4 appliance is given (a link-local address no production network uses). */
export const TURN_ONLY_NODE = '169.254.0.1';
/** The only NIC the v4 wizard configures. */
export const V4_NIC = 'eth0';

export interface V4Answers {
  address: string;
  netmask: string;
  gateway: string;
  /** step 4, typed as `network netmask` */
  management: { network: string; netmask: string; from: string };
  hostname: string;
  domain: string;
  dns: string[];
  ntp: string[];
  /** the conferencing nodes; [TURN_ONLY_NODE] on a TURN-only appliance */
  nodes: string[];
  /** no upstreams: the guide's TURN-only answer */
  turnOnly: boolean;
  /** false: `disable` (proxy-only) */
  turn: false | { username: string; password: SecretRef };
  loginPassword: SecretRef;
}

function refuse(name: string, field: string, why: string): never {
  throw new InputError(`${name}: ${field}: the v4 install wizard ${why}`);
}

function v4Network(
  name: string,
  install: InstallSection,
): Pick<V4Answers, 'address' | 'netmask' | 'gateway'> {
  const network = install.network;
  if ('internal' in network)
    refuse(
      name,
      'install.network',
      `configures one NIC: give the internal NIC (address, netmask, the LAN gateway) here and the second NIC in the network section, which the second-nic recipe applies after the reboot (rpctl apply --allow-disruptive)`,
    );
  if (network.nic !== undefined && network.nic !== V4_NIC)
    refuse(name, 'install.network.nic', `configures ${V4_NIC} only, not ${network.nic}`);
  return {
    ...splitAddress(`${name}: install.network`, network.address, network.netmask),
    gateway: network.gateway,
  };
}

function v4Management(name: string, install: InstallSection): V4Answers['management'] {
  const [only, ...more] = managementNetworks(install);
  if (!only || more.length > 0)
    refuse(
      name,
      'install.managementNetworks',
      `takes one network allowed to SSH (step 4), not ${install.managementNetworks.length}`,
    );
  const [network = '', prefix = '0'] = only.network.split('/');
  const mask = only.netmask ?? prefixToNetmask(Number(prefix));
  return { network, netmask: mask, from: 'install.managementNetworks[0]' };
}

function v4Turn(
  name: string,
  install: InstallSection,
  turn: TurnSection | undefined,
  web: boolean,
  domain: string,
): V4Answers['turn'] {
  const options = install.turn ?? {};
  for (const key of ['mode', 'port443', 'mediaNodes', 'sharedSecret'] as const)
    if (options[key] !== undefined)
      refuse(
        name,
        `install.turn.${key}`,
        "sets TURN up with one long-term user (`username password`) or 'disable', nothing else",
      );
  const credentials = turn?.credentials;
  const enabled = options.enabled ?? credentials !== undefined;
  if (!enabled) {
    if (!web)
      refuse(
        name,
        'upstreams',
        `needs a reverse proxy or TURN: without upstreams (TURN-only) set turn.credentials`,
      );
    return false;
  }
  if (!credentials)
    refuse(
      name,
      'turn.credentials',
      'enables TURN with a username and password: set them, or install.turn.enabled: false',
    );
  if (credentials.realm !== undefined && credentials.realm !== domain)
    throw new InputError(
      `${name}: turn.credentials.realm ${credentials.realm} differs from the domain ${domain}, which the wizard makes the realm`,
    );
  return { username: credentials.username, password: credentials.password };
}

/** The v4 wizard's answers for one appliance; throws InputError when the v4 wizard cannot take them. */
export function v4WizardAnswers(appliance: ApplianceConfig): V4Answers {
  const { name } = appliance;
  const { install, loginPassword, hostname, domain } = installBasics(appliance);
  if (install.snmp) refuse(name, 'install.snmp', 'has no SNMP step');
  if (install.contentSecurityPolicy !== undefined)
    refuse(
      name,
      'install.contentSecurityPolicy',
      'has no Content-Security-Policy step (its pexapp sets none)',
    );
  if (install.regenerate)
    refuse(name, 'install.regenerate', 'is never rerun (the 002 guide resets the appliance instead)');
  if (!install.dns) refuse(name, 'install.dns', 'offers no default DNS servers: set them');
  if (!install.ntp) refuse(name, 'install.ntp', 'offers no default NTP servers: set them');
  const ipv6 = install.ntp.find((server) => server.includes(':'));
  if (ipv6) refuse(name, 'install.ntp', `takes IPv4 addresses and names, not ${ipv6}`);
  const upstreams = appliance.sections.upstreams as UpstreamsSection | undefined;
  const nodes = upstreams ? signalingNodes(name, upstreams) : [TURN_ONLY_NODE];
  return {
    ...v4Network(name, install),
    management: v4Management(name, install),
    hostname,
    domain,
    dns: install.dns,
    ntp: install.ntp,
    nodes,
    turnOnly: upstreams === undefined,
    turn: v4Turn(
      name,
      install,
      appliance.sections.turn as TurnSection | undefined,
      upstreams !== undefined,
      domain,
    ),
    loginPassword,
  };
}

/** With the secrets resolved: the TURN password is typed after the username and a space. */
export function v4SecretProblem(answers: V4Answers, secret: (ref: SecretRef) => string): string | undefined {
  if (answers.turn && /\s/.test(secret(answers.turn.password)))
    return 'turn.credentials.password: the v4 install wizard reads `username password` on one line, so the password cannot contain a space';
  return undefined;
}
