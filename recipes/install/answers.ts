/**
 * What `rpctl install` answers the install wizard, derived from an appliance's inventory before
 * any host is contacted. Pure: a bad combination is an InputError naming the appliance and the
 * field (exit 3, nothing contacted).
 *
 *   hostname, domain      core settings
 *   signaling nodes       upstreams.nodes (the web reverse proxy is enabled when the section is set)
 *   TURN, restricted      turn.credentials (username, password), install.turn.mediaNodes
 *   TURN, permissive      install.turn.sharedSecret
 *   fail2ban              fail2ban.enabled
 *   everything else       install.* (recipes/install/schema.ts)
 */
import { type ApplianceConfig, InputError, type SecretRef } from '../../src/engine/contract.js';
import { isIPv4 } from '../../src/inventory/types.js';
import type { Fail2banSection } from '../fail2ban/schema.js';
import type { TurnSection } from '../turn/schema.js';
import { type UpstreamsSection, upstreamNodes } from '../upstreams/schema.js';
import type { InstallSection } from './schema.js';

export interface NicAnswers {
  nic?: string;
  address: string;
  netmask: string;
}

export type NetworkAnswers =
  | ({ kind: 'single'; gateway: string } & NicAnswers)
  | {
      kind: 'dual';
      internal: NicAnswers & { nic: string; routes: { to: string; via: string }[] };
      external: NicAnswers & { nic: string; gateway: string };
    };

export type TurnAnswers =
  | false
  | {
      mode: 'restricted';
      port443?: boolean;
      username: string;
      password: SecretRef;
      /** undefined: the signaling nodes, which the wizard offers as the default */
      mediaNodes?: string[];
    }
  | { mode: 'permissive'; port443?: boolean; sharedSecret: SecretRef };

export interface ManagementNetwork {
  /** typed at "IP Address for management network N?": address, or address/prefix */
  answer: string;
  /** typed at "Subnet mask for management network N?" when `answer` has no prefix */
  netmask?: string;
  /** the network as the wizard stores it (host bits cleared): 10.0.50.0/24 */
  network: string;
}

/** Answers; a value left undefined is not managed (the wizard's default is taken). */
export interface WizardAnswers {
  network: NetworkAnswers;
  dns?: string[];
  hostname: string;
  domain: string;
  ntp?: string[];
  web: false | { nodes: string[]; csp?: boolean };
  turn: TurnAnswers;
  managementNetworks: ManagementNetwork[];
  fail2ban?: boolean;
  snmp?: { community?: string; location?: string; contact?: string; name?: string; description?: string };
  regenerate: { ssl: boolean; ssh: boolean };
  /** pexip's password once changed: what sudo asks for */
  loginPassword: SecretRef;
}

/** The appliance's password policy (the 000 guide): at least 8 characters, 3 of 4 classes. */
export function passwordPolicyProblem(password: string): string | undefined {
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((c) => c.test(password)).length;
  if (password.length < 8) return 'it has fewer than 8 characters';
  if (classes < 3)
    return `it has ${classes} of the 4 character classes (lower, upper, digit, special), 3 are needed`;
  // Typed on a terminal: a control character would edit the line or signal the program.
  if (/[\x00-\x1f\x7f]/.test(password)) return 'it contains a line break or another control character';
  return undefined;
}

const toInt = (address: string) => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const toAddress = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');

export function prefixToNetmask(prefix: number): string {
  return toAddress(prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix));
}

export function netmaskToPrefix(netmask: string): number {
  return toInt(netmask).toString(2).replace(/0+$/, '').length;
}

/** The network of an address (host bits cleared), as a.b.c.d/nn. */
export function networkOf(address: string, netmask: string): string {
  const base = toInt(address);
  const hostPart = 2 ** 32 - toInt(netmask); // the number of addresses in the network
  return `${toAddress(base - (base % hostPart))}/${netmaskToPrefix(netmask)}`;
}

function contains(network: string, address: string): boolean {
  const [base = '', prefix = '0'] = network.split('/');
  return networkOf(address, prefixToNetmask(Number(prefix))) === `${base}/${prefix}`;
}

export function splitAddress(where: string, address: string, netmask: string | undefined): NicAnswers {
  const [ip = '', prefix] = address.split('/');
  if (prefix !== undefined) {
    if (netmask !== undefined && netmask !== prefixToNetmask(Number(prefix)))
      throw new InputError(`${where}: address ${address} and netmask ${netmask} disagree; give one of them`);
    return { address: ip, netmask: prefixToNetmask(Number(prefix)) };
  }
  if (netmask === undefined)
    throw new InputError(`${where}: needs netmask, or the address with its prefix (e.g. ${ip}/24)`);
  return { address: ip, netmask };
}

function networkAnswers(name: string, network: InstallSection['network']): NetworkAnswers {
  const at = (path: string) => `${name}: install.network${path}`;
  if (!('internal' in network)) {
    return {
      kind: 'single',
      ...splitAddress(at(''), network.address, network.netmask),
      gateway: network.gateway,
      ...(network.nic ? { nic: network.nic } : {}),
    };
  }
  const { internal, external } = network;
  if (internal.nic === external.nic)
    throw new InputError(`${at('')}: internal and external use the same NIC ${internal.nic}`);
  const inner = splitAddress(at('.internal'), internal.address, internal.netmask);
  const own = networkOf(inner.address, inner.netmask);
  const routes = (internal.routes ?? []).map((route, i) => {
    if (!contains(own, route.via))
      throw new InputError(
        `${at(`.internal.routes[${i}]`)}: via ${route.via} is not in ${own}, the internal NIC's network`,
      );
    const [base = '', prefix = '0'] = route.to.split('/');
    return { to: networkOf(base, prefixToNetmask(Number(prefix))), via: route.via };
  });
  return {
    kind: 'dual',
    internal: { nic: internal.nic, ...inner, routes },
    external: {
      nic: external.nic,
      ...splitAddress(at('.external'), external.address, external.netmask),
      gateway: external.gateway,
    },
  };
}

export function signalingNodes(name: string, upstreams: UpstreamsSection): string[] {
  return upstreamNodes(upstreams).map((node, i) => {
    if (!isIPv4(node.address) || node.port !== 443) {
      throw new InputError(
        `${name}: upstreams.nodes[${i}] ${node.address}:${node.port}: the install wizard takes IPv4 addresses on port 443 only; install with those and add others with rpctl apply afterwards`,
      );
    }
    return node.address;
  });
}

function turnAnswers(
  name: string,
  install: InstallSection,
  turn: TurnSection | undefined,
  web: boolean,
  domain: string,
): TurnAnswers {
  const options = install.turn ?? {};
  const credentials = turn?.credentials;
  // Anything said about TURN means it runs, unless enabled: false says otherwise.
  const enabled =
    options.enabled ??
    (credentials !== undefined || options.sharedSecret !== undefined || options.mode !== undefined);
  if (!enabled) {
    if (!web)
      throw new InputError(
        `${name}: without upstreams (no web reverse proxy) the wizard always runs TURN: set turn.credentials or install.turn.sharedSecret`,
      );
    return false;
  }
  if (options.port443 && web)
    throw new InputError(
      `${name}: install.turn.port443 needs the web reverse proxy off (no upstreams): nginx has port 443`,
    );
  const port443 = options.port443 === undefined ? {} : { port443: options.port443 };
  if ((options.mode ?? 'restricted') === 'permissive') {
    if (!options.sharedSecret)
      throw new InputError(
        `${name}: install.turn.mode permissive needs install.turn.sharedSecret (rpctl does not let the wizard generate one: it would exist only on the screen)`,
      );
    if (credentials)
      throw new InputError(
        `${name}: permissive TURN uses a shared secret: remove turn.credentials, which the turn-credentials recipe would then refuse`,
      );
    return { mode: 'permissive', sharedSecret: options.sharedSecret, ...port443 };
  }
  if (!credentials)
    throw new InputError(
      `${name}: restricted TURN needs turn.credentials (username and password), the same the turn-credentials recipe manages`,
    );
  if (credentials.realm !== undefined && credentials.realm !== domain)
    throw new InputError(
      `${name}: turn.credentials.realm ${credentials.realm} differs from the domain ${domain}, which the wizard makes the realm`,
    );
  if (!web && !options.mediaNodes)
    throw new InputError(`${name}: restricted TURN without upstreams needs install.turn.mediaNodes`);
  return {
    mode: 'restricted',
    username: credentials.username,
    password: credentials.password,
    ...(options.mediaNodes ? { mediaNodes: options.mediaNodes } : {}),
    ...port443,
  };
}

export function managementNetworks(install: InstallSection): ManagementNetwork[] {
  return install.managementNetworks.map((item) => {
    if (typeof item === 'string') {
      const [address = '', prefix = '0'] = item.split('/');
      return { answer: item, network: networkOf(address, prefixToNetmask(Number(prefix))) };
    }
    return { answer: item.address, netmask: item.netmask, network: networkOf(item.address, item.netmask) };
  });
}

/** What every wizard needs: the install section, hostname and domain, pexip's new password. */
export function installBasics(appliance: ApplianceConfig): {
  install: InstallSection;
  loginPassword: SecretRef;
  hostname: string;
  domain: string;
} {
  const { name } = appliance;
  const raw = appliance.sections.install;
  if (raw === undefined)
    throw new InputError(
      `${name}: no install section: rpctl install needs install.network and install.managementNetworks`,
    );
  const { hostname, domain } = appliance;
  if (!hostname || !domain)
    throw new InputError(
      `${name}: the wizard needs the appliance's hostname and domain (set both in the inventory)`,
    );
  // Validated by the section's schema when the inventory was loaded (secrets are references now).
  const install = raw as InstallSection;
  const loginPassword = install.newPassword ?? appliance.sudo.password;
  if (!loginPassword)
    throw new InputError(`${name}: no new password for pexip: set install.newPassword or sudo.password`);
  return { install, loginPassword, hostname, domain };
}

/** The wizard's answers for one appliance; throws InputError when the inventory cannot answer. */
export function wizardAnswers(appliance: ApplianceConfig): WizardAnswers {
  const { name } = appliance;
  const { install, loginPassword, hostname, domain } = installBasics(appliance);
  const upstreams = appliance.sections.upstreams as UpstreamsSection | undefined;
  const web = upstreams ? { nodes: signalingNodes(name, upstreams) } : false;
  const fail2ban = (appliance.sections.fail2ban as Fail2banSection | undefined)?.enabled;
  const regenerate = { ssl: install.regenerate?.ssl ?? false, ssh: install.regenerate?.ssh ?? false };
  return {
    network: networkAnswers(name, install.network),
    ...(install.dns ? { dns: install.dns } : {}),
    hostname,
    domain,
    ...(install.ntp ? { ntp: install.ntp } : {}),
    web:
      web && install.contentSecurityPolicy !== undefined
        ? { ...web, csp: install.contentSecurityPolicy }
        : web,
    turn: turnAnswers(
      name,
      install,
      appliance.sections.turn as TurnSection | undefined,
      web !== false,
      domain,
    ),
    managementNetworks: managementNetworks(install),
    ...(fail2ban === undefined ? {} : { fail2ban }),
    ...(install.snmp ? { snmp: install.snmp } : {}),
    regenerate,
    loginPassword,
  };
}
