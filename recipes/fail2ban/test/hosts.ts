/** Fake appliances for the fail2ban planner: as shipped, or in a given boot/run/jail state. */
import {
  type ApplianceSpec,
  etcHosts,
  jailLocal,
  networkInterfaces,
  turnserverConf,
} from '../../../test/lab/files.js';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { JAIL_LOCAL } from '../facts.js';

const spec: ApplianceSpec = {
  name: 'rp1',
  index: 1,
  address: '10.40.1.5',
  generation: 'v4',
  state: 'installed',
  hostname: 'rp1',
  domain: 'vc.example.com',
  nodes: ['10.40.0.11'],
  turnUser: 'turnuser',
};

/** What `fail2ban-client -d` prints for the pexiprp jail of a jail.local. */
export const dumpOf = (values: { bantime: string; findtime: string; maxretry: string }) =>
  [
    "['set', 'pexiprp', 'usedns', 'warn']",
    `['set', 'pexiprp', 'maxretry', ${values.maxretry}]`,
    `['set', 'pexiprp', 'findtime', '${values.findtime}']`,
    `['set', 'pexiprp', 'bantime', '${values.bantime}']`,
    "['set', 'sshd', 'maxretry', 5]",
    '',
  ].join('\n');
export const SHIPPED = dumpOf({ bantime: '300', findtime: '300', maxretry: '10' });

export interface HostState {
  boot?: 'S' | '-' | 'partial';
  running?: boolean;
  jail?: string;
  dump?: string | { code: number; output: string };
  configTest?: '-t' | '-d';
}

export function appliance(state: HostState = {}) {
  const boot = state.boot ?? '-';
  const rc = [2, 3, 4, 5]
    .map((n) => `rc${n} ${boot === 'partial' ? (n === 2 ? 'S' : '-') : boot}`)
    .join('\n');
  return fakeFacts({
    files: {
      '/etc/hostname': 'rp1\n',
      '/etc/hosts': etcHosts(spec),
      '/etc/turnserver.conf': turnserverConf(spec),
      '/etc/network/interfaces': networkInterfaces(spec),
      '/etc/init.d/rfc5766-turn-server': '#!/bin/sh\n',
      ...(state.jail === undefined
        ? { [JAIL_LOCAL]: jailLocal }
        : state.jail
          ? { [JAIL_LOCAL]: state.jail }
          : {}),
    },
    commands: {
      'appliance.names': 'hostname=rp1\nfqdn=rp1.vc.example.com\n',
      'appliance.services': `nginx 0\nrfc5766-turn-server 0\nfail2ban ${state.running ? 0 : 3}\n`,
      'fail2ban.state': `${rc}\nconfigtest ${state.configTest ?? '-t'}\n`,
      'fail2ban.dump': state.dump ?? SHIPPED,
    },
  });
}
