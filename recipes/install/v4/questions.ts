/**
 * The ten steps of the v4 install wizard (the 002 guide, "Running the installation wizard"), each
 * recognised by its prompt, and what it is answered from V4Answers. Several values on one line are
 * joined by a space; the conference nodes are typed one per prompt and ended by an empty line.
 *
 *   Network address and subnet mask of ... over SSH   -> 10.0.50.0 255.255.255.0
 *   Enter IP of next conference node or press ...      -> 10.40.0.10, then 10.40.0.11, then [ENTER]
 *   TURN server username and password, or 'disable'    -> pexip <password>, or disable
 */
import type { SecretRef } from '../../../src/engine/contract.js';
import type { Stop } from '../answer-kinds.js';
import type { V4Answers } from './answers.js';

/** `secretAfter`: typed after `text` and a space (the TURN password after its username). */
export type V4Answer = { text: string; from: string; secretAfter?: SecretRef };

export interface V4State {
  /** conference nodes typed so far */
  nodes: number;
}

interface V4Step {
  number: number;
  title: string;
  prompt: RegExp;
  answer(a: V4Answers, s: V4State): V4Answer;
}

export const V4_STEP_COUNT = 10;

const V4_STEPS: V4Step[] = [
  {
    number: 1,
    title: 'IP address',
    prompt: /^IP address$/i,
    answer: (a) => ({ text: a.address, from: 'install.network.address' }),
  },
  {
    number: 2,
    title: 'Subnet mask',
    prompt: /^Subnet mask$/i,
    answer: (a) => ({ text: a.netmask, from: 'install.network' }),
  },
  {
    number: 3,
    title: 'Default Gateway',
    prompt: /^Default Gateway$/i,
    answer: (a) => ({ text: a.gateway, from: 'install.network.gateway' }),
  },
  {
    number: 4,
    title: 'SSH access',
    prompt: /^Network address and subnet mask of network\/host allowed to access this host over SSH$/i,
    answer: (a) => ({ text: `${a.management.network} ${a.management.netmask}`, from: a.management.from }),
  },
  {
    number: 5,
    title: 'Hostname',
    prompt: /^Hostname$/i,
    answer: (a) => ({ text: a.hostname, from: 'hostname' }),
  },
  {
    number: 6,
    title: 'Domain suffix',
    prompt: /^Domain suffix$/i,
    answer: (a) => ({ text: a.domain, from: 'domain' }),
  },
  {
    number: 7,
    title: 'DNS servers',
    prompt: /^DNS server\(s\), space separated$/i,
    answer: (a) => ({ text: a.dns.join(' '), from: 'install.dns' }),
  },
  {
    number: 8,
    title: 'NTP servers',
    prompt: /^NTP server\(s\), space separated$/i,
    answer: (a) => ({ text: a.ntp.join(' '), from: 'install.ntp' }),
  },
  {
    number: 9,
    title: 'Conference nodes',
    prompt: /^Enter IP of next conference node or press \[ENTER\] if finished$/i,
    answer: (a, s) => {
      const node = a.nodes[s.nodes];
      s.nodes++;
      if (node === undefined) return { text: '', from: 'upstreams.nodes (end of the list)' };
      return { text: node, from: a.turnOnly ? 'TURN only: no upstreams' : `upstreams.nodes[${s.nodes - 1}]` };
    },
  },
  {
    number: 10,
    title: 'TURN server',
    prompt: /username and password.*'disable'$/i,
    answer: (a) =>
      a.turn
        ? { text: a.turn.username, secretAfter: a.turn.password, from: 'turn.credentials' }
        : { text: 'disable', from: 'no turn.credentials (proxy only)' },
  },
];

/** The answer to one prompt and its step, or why there is none. */
export function answerV4Prompt(
  prompt: string,
  answers: V4Answers,
  state: V4State,
): { answer: V4Answer; step: { number: number; total: number; title: string } } | Stop {
  const step = V4_STEPS.find((s) => s.prompt.test(prompt));
  if (!step)
    return {
      stop: `the v4 wizard asks "${prompt}", a question rpctl does not know; nothing was answered to it`,
    };
  return {
    answer: step.answer(answers, state),
    step: { number: step.number, total: V4_STEP_COUNT, title: step.title },
  };
}
