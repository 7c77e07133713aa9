/**
 * The turn-nat planner as a table: the inventory's `turn.externalIp` and an appliance (v4 or v7,
 * turnserver.conf as the wizard writes it, relaying from 10.40.1.5) -> the plan.
 */
import type { PlannerCase } from '../../../test/planner-cases.js';
import { type TurnNatDesired, turnNatOf } from '../nat.js';
import { turnSection } from '../schema.js';
import { appliance } from './hosts.js';

const CONF = '/etc/turnserver.conf';
const WIZARD_CONF = (generation: 'v4' | 'v7') => appliance(generation, []).text(CONF)!;
/** turnserver.conf as the wizard writes it, with `extra` lines at the end */
const withConf = (generation: 'v4' | 'v7', extra = '') =>
  appliance(generation, [], WIZARD_CONF(generation) + extra);
/** no turnserver.conf at all */
const withoutConf = (generation: 'v4' | 'v7') => {
  const facts = appliance(generation, []);
  return {
    ...facts,
    file: (path: string) => (path === CONF ? { path, exists: false as const } : facts.file(path)),
    text: (path: string) => (path === CONF ? undefined : facts.text(path)),
  };
};

const externalIp = (value: string | null): TurnNatDesired =>
  turnNatOf(turnSection.parse({ externalIp: value }), 'rp1')!;
const RESTART = { writes: [CONF], notify: ['turn:restart'] };

export const TURN_NAT_CASES: PlannerCase<TurnNatDesired>[] = [
  {
    name: 'v4: sets the line and restarts rfc5766-turn-server (disruptive handler)',
    desired: externalIp('203.0.113.5'),
    facts: withConf('v4'),
    expected: {
      changes: [
        {
          summary:
            'set external-ip=203.0.113.5 (was none; relays from 10.40.1.5, listens on 10.40.1.5 port 3478), restart rfc5766-turn-server',
          ...RESTART,
        },
      ],
    },
  },
  {
    name: 'v7: restarts coturn',
    desired: externalIp('203.0.113.5'),
    facts: withConf('v7'),
    expected: { changes: [{ summary: /^set external-ip=203\.0\.113\.5 .*restart coturn$/, ...RESTART }] },
  },
  {
    name: 'the line is already there: in sync',
    desired: externalIp('203.0.113.5'),
    facts: withConf('v7', 'external-ip=203.0.113.5\n'),
    expected: { changes: [] },
  },
  {
    name: 'another address: replaced, the old one said',
    desired: externalIp('203.0.113.5'),
    facts: withConf('v7', 'external-ip=198.51.100.9\n'),
    expected: {
      changes: [{ summary: /^set external-ip=203\.0\.113\.5 \(was 198\.51\.100\.9;/, ...RESTART }],
    },
  },
  {
    name: 'null and no line: in sync',
    desired: externalIp(null),
    facts: withConf('v7'),
    expected: { changes: [] },
  },
  {
    name: 'null removes the line',
    desired: externalIp(null),
    facts: withConf('v4', 'external-ip=203.0.113.5\n'),
    expected: { changes: [{ summary: /^remove external-ip \(was 203\.0\.113\.5;/, ...RESTART }] },
  },
  {
    name: 'an IPv6 external address for an IPv4 relay: a warning',
    desired: externalIp('2001:db8::5'),
    facts: withConf('v7'),
    expected: {
      changes: [{ summary: /^set external-ip=2001:db8::5 /, ...RESTART }],
      warnings: [/external-ip 2001:db8::5 is IPv6 but the TURN server relays from 10\.40\.1\.5 \(IPv4\)/],
    },
  },
  {
    name: 'no turnserver.conf: a plan error',
    desired: externalIp('203.0.113.5'),
    facts: withoutConf('v7'),
    expected: { error: /turnserver\.conf does not exist; the TURN server is not set up/ },
  },
];
