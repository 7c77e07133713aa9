/**
 * Every question of the v7.1 install wizard rpctl knows, recognised by its text, and the answer
 * each one gets from WizardAnswers. The texts are the wizard's own (Pexip's rp-turn project); the
 * 000 guide's shorter forms ("Username?", "Netmask?", "DNS server 1?") are accepted too.
 *
 * Defaults: when the value the wizard offers ("Press [ENTER] to use the default value: X", or a
 * "Use these default ...?" list) is the inventory's, the answer is [ENTER]: the saved answers of an
 * earlier run are kept where the inventory agrees. A value the inventory leaves out takes the
 * wizard's default; with no default there is no answer, and the install stops.
 */

import {
  type Answer,
  DEFAULT,
  item,
  noAnswer,
  type QuestionScreen,
  type Stop,
  useDefaults,
  value,
  yesNo,
} from './answer-kinds.js';
import type { WizardAnswers } from './answers.js';

export type { Answer } from './answer-kinds.js';

export interface AnswerState {
  /** custom routes entered so far */
  routes: number;
  /** management networks entered so far */
  managementNetworks: number;
  sudoAsked: boolean;
}

type Role = 'single' | 'internal' | 'external';

function nic(
  a: WizardAnswers,
  q: QuestionScreen,
  role: Role,
): { address: string; netmask: string; gateway?: string; from: string } | Stop {
  const network = a.network;
  if (role === 'single') {
    if (network.kind === 'single') return { ...network, from: 'install.network' };
    return {
      stop: `the wizard configures one NIC ("${q.question}") but install.network sets internal and external: does the appliance have only one?`,
    };
  }
  if (network.kind === 'dual') return { ...network[role], from: `install.network.${role}` };
  return { stop: `the wizard configures two NICs ("${q.question}") but install.network sets one` };
}

function roleOf(match: RegExpExecArray, group: number): Role {
  return (match[group]?.toLowerCase() as Role | undefined) ?? 'single';
}

function chooseNic(
  q: QuestionScreen,
  wanted: string | undefined,
  options: string,
  from: string,
): Answer | Stop {
  if (wanted !== undefined) return value(q, wanted, from);
  if (q.default !== undefined) return { text: '', usesDefault: true, from: DEFAULT };
  return options.split('/').includes('nic0')
    ? { text: 'nic0', from: `${from} (default nic0)` }
    : noAnswer(q, from);
}

function listByName(
  name: string,
  a: WizardAnswers,
): { wanted?: readonly string[]; from: string } | undefined {
  const mediaNodes =
    a.turn && a.turn.mode === 'restricted'
      ? (a.turn.mediaNodes ?? (a.web ? a.web.nodes : undefined))
      : undefined;
  if (/^DNS Servers?$/i.test(name)) return { wanted: a.dns, from: 'install.dns' };
  if (/^NTP Servers?$/i.test(name)) return { wanted: a.ntp, from: 'install.ntp' };
  if (/Signaling Conferencing Nodes?$/i.test(name))
    return { wanted: a.web ? a.web.nodes : [], from: 'upstreams.nodes' };
  if (/Media Conferencing Nodes?$/i.test(name))
    return { wanted: mediaNodes ?? [], from: 'install.turn.mediaNodes' };
  if (/^IPTables rules for SSH access$/i.test(name))
    return { wanted: a.managementNetworks.map((n) => n.network), from: 'install.managementNetworks' };
  if (/^Custom Routes for /i.test(name)) {
    const routes = a.network.kind === 'dual' ? a.network.internal.routes : [];
    return { wanted: routes.map((r) => `${r.to} via ${r.via}`), from: 'install.network.internal.routes' };
  }
  return undefined;
}

type Handler = (m: RegExpExecArray, q: QuestionScreen, a: WizardAnswers, s: AnswerState) => Answer | Stop;

const QUESTIONS: [RegExp, Handler][] = [
  [
    /^Do you want to configure Dual NIC\? \(Yes\/No\)$/i,
    (_m, q, a) => yesNo(q, a.network.kind === 'dual', 'install.network'),
  ],
  [
    /^Which network interface should be used\? \((.+)\)$/i,
    (m, q, a) =>
      a.network.kind === 'single'
        ? chooseNic(q, a.network.nic, m[1]!, 'install.network.nic')
        : (nic(a, q, 'single') as Stop),
  ],
  [
    /^Which is the (internal|external)-facing network interface\? \((.+)\)$/i,
    (m, q, a) => {
      const role = roleOf(m, 1) as 'internal' | 'external';
      return a.network.kind === 'dual'
        ? value(q, a.network[role].nic, `install.network.${role}.nic`)
        : (nic(a, q, role) as Stop);
    },
  ],
  [
    /^IP Address( for (internal|external) interface)?\?$/i,
    (m, q, a) => withNic(a, q, roleOf(m, 2), (n) => value(q, n.address, `${n.from}.address`)),
  ],
  [
    /^(?:Subnet mask|Netmask)( for (internal|external) interface)?\?$/i,
    (m, q, a) => withNic(a, q, roleOf(m, 2), (n) => value(q, n.netmask, `${n.from}.netmask`)),
  ],
  [
    /^Default gateway( for (internal|external) interface)?\?$/i,
    (m, q, a) => withNic(a, q, roleOf(m, 2), (n) => value(q, n.gateway, `${n.from}.gateway`)),
  ],
  [
    /^Add (a|another) custom network route for (\S+)\? \(Yes\/No\)$/i,
    (_m, q, a, s) =>
      yesNo(
        q,
        a.network.kind === 'dual' && s.routes < a.network.internal.routes.length,
        'install.network.internal.routes',
      ),
  ],
  [/^Network IP Address\?$/i, (_m, q, a, s) => routePart(q, a, s, 'to')],
  [/^Network Netmask\?$/i, (_m, q, a, s) => routePart(q, a, s, 'netmask')],
  [/^Via IP Address\?$/i, (_m, q, a, s) => routePart(q, a, s, 'via')],
  [
    /^Use these default (.+)\? \(Yes\/No\)$/i,
    (m, q, a) => {
      const list = listByName(m[1]!, a);
      return list
        ? useDefaults(q, list.wanted, list.from)
        : { stop: `the wizard offers default ${m[1]}, which rpctl does not know` };
    },
  ],
  [
    /^(DNS Server|NTP Server|IP Address of Signaling Conferencing Node|IP Address of Media Conferencing Node) (\d+)\?$/i,
    (m, q, a) => {
      const list = listByName(`${m[1]}s`, a)!;
      return item(q, list.wanted, Number(m[2]), list.from);
    },
  ],
  [/^Hostname\?$/i, (_m, q, a) => value(q, a.hostname, 'hostname')],
  [/^Domain\?$/i, (_m, q, a) => value(q, a.domain, 'domain')],
  [/^Enable web reverse proxy\? \(Yes\/No\)$/i, (_m, q, a) => yesNo(q, a.web !== false, 'upstreams')],
  [
    /^Enable Content[- ]Security[- ]Policy\? \(Yes\/No\)$/i,
    (_m, q, a) => yesNo(q, a.web ? a.web.csp : undefined, 'install.contentSecurityPolicy'),
  ],
  [
    /^Enable TURN server\? \(Yes\/No\)$/i,
    (_m, q, a) => yesNo(q, a.turn !== false, 'turn.credentials / install.turn'),
  ],
  [
    /restricted configuration mode\? \(Yes\/No\)$/i,
    (_m, q, a) =>
      a.turn ? yesNo(q, a.turn.mode === 'restricted', 'install.turn.mode') : noAnswer(q, 'install.turn'),
  ],
  [
    /^Do you want the TURN server to listen on port 443 instead of (port )?3478\? \(Yes\/No\)$/i,
    (_m, q, a) => yesNo(q, a.turn ? a.turn.port443 : undefined, 'install.turn.port443'),
  ],
  [
    /^(TURN )?username\?$/i,
    (_m, q, a) =>
      a.turn && a.turn.mode === 'restricted'
        ? value(q, a.turn.username, 'turn.credentials.username')
        : noAnswer(q, 'turn.credentials'),
  ],
  [
    /^(TURN )?password( \(will be displayed onscreen\))?\?$/i,
    (_m, q, a) =>
      a.turn && a.turn.mode === 'restricted'
        ? { secret: a.turn.password, from: 'turn.credentials.password' }
        : noAnswer(q, 'turn.credentials'),
  ],
  [
    /^TURN secret key\b.*\?$/i,
    (_m, q, a) =>
      a.turn && a.turn.mode === 'permissive'
        ? { secret: a.turn.sharedSecret, from: 'install.turn.sharedSecret' }
        : noAnswer(q, 'install.turn.sharedSecret'),
  ],
  [
    /^Add (a|another) management network\? \(Yes\/No\)$/i,
    (_m, q, a, s) =>
      yesNo(q, s.managementNetworks < a.managementNetworks.length, 'install.managementNetworks'),
  ],
  [
    /^IP Address for (?:the )?management network (\d+)\?$/i,
    (m, q, a, s) => {
      const n = Number(m[1]);
      s.managementNetworks = n;
      const wanted = a.managementNetworks[n - 1];
      return wanted
        ? { text: wanted.answer, from: `install.managementNetworks[${n - 1}]` }
        : noAnswer(q, 'install.managementNetworks');
    },
  ],
  [
    /^(?:Subnet mask|Netmask) for management network (\d+)\?$/i,
    (m, q, a) => {
      const n = Number(m[1]);
      const wanted = a.managementNetworks[n - 1]?.netmask;
      return wanted
        ? { text: wanted, from: `install.managementNetworks[${n - 1}].netmask` }
        : noAnswer(q, 'install.managementNetworks');
    },
  ],
  [/^Enable Fail2ban\? \(Yes\/No\)$/i, (_m, q, a) => yesNo(q, a.fail2ban, 'fail2ban.enabled')],
  [
    /^Enable SNMPv2c read only\? \(Yes\/No\)$/i,
    (_m, q, a) => yesNo(q, a.snmp ? true : undefined, 'install.snmp'),
  ],
  [
    /^SNMP community\?$/i,
    (_m, q, a) => value(q, a.snmp?.community ?? (q.default ? undefined : 'public'), 'install.snmp.community'),
  ],
  [
    /^SNMP system (location|contact|name|description)\?$/i,
    (m, q, a) => {
      const key = m[1]!.toLowerCase() as 'location' | 'contact' | 'name' | 'description';
      const wanted = a.snmp?.[key];
      return wanted === undefined && q.default === undefined
        ? { text: '', from: `install.snmp.${key} (empty)` }
        : value(q, wanted, `install.snmp.${key}`);
    },
  ],
  [
    /^Do you want to regenerate a new (SSL|SSH) certificate\? \(Yes\/No\)$/i,
    (m, q, a) => {
      const kind = m[1]!.toLowerCase() as 'ssl' | 'ssh';
      return yesNo(q, a.regenerate[kind], `install.regenerate.${kind}`);
    },
  ],
];

function withNic(
  a: WizardAnswers,
  q: QuestionScreen,
  role: Role,
  then: (n: { address: string; netmask: string; gateway?: string; from: string }) => Answer | Stop,
): Answer | Stop {
  const found = nic(a, q, role);
  return 'stop' in found ? found : then(found);
}

function routePart(
  q: QuestionScreen,
  a: WizardAnswers,
  s: AnswerState,
  part: 'to' | 'netmask' | 'via',
): Answer | Stop {
  const routes = a.network.kind === 'dual' ? a.network.internal.routes : [];
  const route = routes[s.routes];
  if (!route) return noAnswer(q, 'install.network.internal.routes');
  const from = `install.network.internal.routes[${s.routes}]`;
  if (part === 'via') s.routes++;
  if (part === 'to') return { text: route.to, from: `${from}.to` };
  if (part === 'via') return { text: route.via, from: `${from}.via` };
  return {
    stop: `the wizard asks "${q.question}" although rpctl gave the route as a network with its prefix`,
  };
}

/** The answer to one question, or why there is none. */
export function answerQuestion(q: QuestionScreen, answers: WizardAnswers, state: AnswerState): Answer | Stop {
  for (const [pattern, handler] of QUESTIONS) {
    const match = pattern.exec(q.question);
    if (match) return handler(match, q, answers, state);
  }
  return {
    stop: `the wizard asks "${q.question}", a question rpctl does not know; nothing was answered to it`,
  };
}
