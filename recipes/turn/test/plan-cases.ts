/**
 * The turn-nat planner as a table: the inventory's `turn.externalIp` and an appliance (v4 or v7,
 * turnserver.conf as the wizard writes it, relaying from 10.40.1.5) -> the plan.
 */
import {
  type ApplianceSpec,
  etcHosts,
  netplan,
  networkInterfaces,
  turnserverConf,
} from '../../../test/lab/files.js';
import type { PlannerCase } from '../../../test/planner-cases.js';
import { fakeFacts } from '../../../test/unit/fake-facts.js';
import { type TurnNatDesired, turnNatOf } from '../nat.js';
import { turnSection } from '../schema.js';

const CONF = '/etc/turnserver.conf';

function appliance(generation: 'v4' | 'v7', extraConf = '', conf = true) {
  const spec: ApplianceSpec = {
    name: 'rp1',
    index: 1,
    address: '10.40.1.5',
    generation,
    state: 'installed',
    hostname: 'rp1',
    domain: 'vc.example.com',
    nodes: [],
    turnUser: 'pexip',
  };
  const service = generation === 'v4' ? 'rfc5766-turn-server' : 'coturn';
  return fakeFacts({
    files: {
      '/etc/hostname': 'rp1\n',
      '/etc/hosts': etcHosts(spec),
      ...(conf ? { [CONF]: turnserverConf(spec) + extraConf } : {}),
      ...(generation === 'v4'
        ? { '/etc/network/interfaces': networkInterfaces(spec) }
        : { '/etc/netplan/01-netcfg.yaml': netplan(spec) }),
      [`/etc/init.d/${service}`]: '#!/bin/sh\n',
    },
    commands: {
      'appliance.names': 'hostname=rp1\nfqdn=rp1.vc.example.com\n',
      'appliance.services': `nginx 0\n${service} 0\nfail2ban 3\n`,
    },
  });
}

const externalIp = (value: string | null): TurnNatDesired =>
  turnNatOf(turnSection.parse({ externalIp: value }), 'rp1')!;
const RESTART = { writes: [CONF], notify: ['turn:restart'] };

export const TURN_NAT_CASES: PlannerCase<TurnNatDesired>[] = [
  {
    name: 'v4: sets the line and restarts rfc5766-turn-server (disruptive handler)',
    desired: externalIp('203.0.113.5'),
    facts: appliance('v4'),
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
    facts: appliance('v7'),
    expected: { changes: [{ summary: /^set external-ip=203\.0\.113\.5 .*restart coturn$/, ...RESTART }] },
  },
  {
    name: 'the line is already there: in sync',
    desired: externalIp('203.0.113.5'),
    facts: appliance('v7', 'external-ip=203.0.113.5\n'),
    expected: { changes: [] },
  },
  {
    name: 'another address: replaced, the old one said',
    desired: externalIp('203.0.113.5'),
    facts: appliance('v7', 'external-ip=198.51.100.9\n'),
    expected: {
      changes: [{ summary: /^set external-ip=203\.0\.113\.5 \(was 198\.51\.100\.9;/, ...RESTART }],
    },
  },
  {
    name: 'null and no line: in sync',
    desired: externalIp(null),
    facts: appliance('v7'),
    expected: { changes: [] },
  },
  {
    name: 'null removes the line',
    desired: externalIp(null),
    facts: appliance('v4', 'external-ip=203.0.113.5\n'),
    expected: { changes: [{ summary: /^remove external-ip \(was 203\.0\.113\.5;/, ...RESTART }] },
  },
  {
    name: 'an IPv6 external address for an IPv4 relay: a warning',
    desired: externalIp('2001:db8::5'),
    facts: appliance('v7'),
    expected: {
      changes: [{ summary: /^set external-ip=2001:db8::5 /, ...RESTART }],
      warnings: [/external-ip 2001:db8::5 is IPv6 but the TURN server relays from 10\.40\.1\.5 \(IPv4\)/],
    },
  },
  {
    name: 'no turnserver.conf: a plan error',
    desired: externalIp('203.0.113.5'),
    facts: appliance('v7', '', false),
    expected: { error: /turnserver\.conf does not exist; the TURN server is not set up/ },
  },
];
