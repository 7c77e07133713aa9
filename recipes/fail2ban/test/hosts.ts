/** Fake appliances for the fail2ban planner: as shipped, or in a given boot/run/jail state. */
import {
  type ApplianceSpec,
  etcHosts,
  jailLocal,
  networkInterfaces,
  turnserverConf,
} from '../../../test/lab/files.js';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { JAIL_FILES, JAIL_LOCAL } from '../facts.js';

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

/** Debian's jail.conf, cut to the values the pexiprp jail could take from it. */
export const JAIL_CONF =
  '[INCLUDES]\nbefore = paths-debian.conf\n\n[DEFAULT]\nbantime  = 10m\nfindtime  = 10m\nmaxretry = 5\n';

/** What the jail-files fact prints for a set of files. */
export const jailFilesOutput = (files: Record<string, string>) =>
  Object.entries(files)
    .map(([path, text]) => `@jail ${path}\n${Buffer.from(text).toString('base64')}\n`)
    .join('');

export interface HostState {
  boot?: 'S' | '-' | 'partial';
  running?: boolean;
  /** the server was killed: its PID file and socket stay behind, the process is gone */
  killed?: boolean;
  jail?: string;
  /** files in /etc/fail2ban/jail.d/ by name */
  jailD?: Record<string, string>;
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
      'appliance.services': 'nginx 0\nrfc5766-turn-server 0\n',
      'fail2ban.running': state.running
        ? 'pid 3113\nprocess fail2ban-server\nsocket present\ninit present\n'
        : state.killed
          ? 'pid 3113\nprocess none\nsocket present\ninit present\n'
          : 'pid absent\nsocket absent\ninit present\n',
      'fail2ban.state': `${rc}\nconfigtest ${state.configTest ?? '-t'}\n`,
      [JAIL_FILES]: jailFilesOutput({
        '/etc/fail2ban/jail.conf': JAIL_CONF,
        ...(state.jail === '' ? {} : { [JAIL_LOCAL]: state.jail ?? jailLocal }),
        ...Object.fromEntries(
          Object.entries(state.jailD ?? {}).map(([n, t]) => [`/etc/fail2ban/jail.d/${n}`, t]),
        ),
      }),
    },
  });
}
