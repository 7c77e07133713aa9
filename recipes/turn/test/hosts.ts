/** Fake v4/v7 appliances for the TURN planners: turnserver.conf as the wizard writes it, TURN users. */
import type { HostFacts } from '../../../src/engine/contract.js';
import { etcHosts, netplan, networkInterfaces, turnserverConf } from '../../../test/lab/files.js';
import { type FakeHost, fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { USERDB_FACT } from '../userdb.js';

export const REALM = 'vc.example.com';

/** `users`: rows of the user database as the facts read them; `conf`: turnserver.conf instead of the wizard's. */
export function appliance(generation: 'v4' | 'v7', users: string[], conf?: string): HostFacts {
  const spec = {
    name: 'rp1',
    index: 1,
    address: '10.40.1.5',
    generation,
    state: 'installed' as const,
    hostname: 'rp1',
    domain: REALM,
    nodes: [],
    turnUser: 'pexip',
  };
  const host: FakeHost = {
    files: {
      '/etc/hostname': 'rp1\n',
      '/etc/hosts': etcHosts(spec),
      '/etc/turnserver.conf': conf ?? turnserverConf(spec),
      ...(generation === 'v4'
        ? {
            '/etc/network/interfaces': networkInterfaces(spec),
            '/etc/init.d/rfc5766-turn-server': '#!/bin/sh\n',
          }
        : { '/etc/netplan/01-netcfg.yaml': netplan(spec), '/etc/init.d/coturn': '#!/bin/sh\n' }),
    },
    commands: {
      'appliance.names': `hostname=rp1\nfqdn=rp1.${REALM}\n`,
      'appliance.services': `nginx 0\ncoturn ${generation === 'v7' ? 0 : 'absent'}\nrfc5766-turn-server ${generation === 'v4' ? 0 : 'absent'}\n`,
      [USERDB_FACT]: ['@userdb sqlite3', ...users, ''].join('\n'),
    },
  };
  return fakeFacts(host);
}
