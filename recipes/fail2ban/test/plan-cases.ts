/**
 * The fail2ban planner as a table: the inventory's `fail2ban` section and the appliance's state
 * (S links at boot, running or not, jail.local, the jail files) -> the plan.
 * Shipped: disabled at boot, stopped, bantime 300, findtime 300, maxretry 10.
 */
import { jailLocal } from '../../../test/lab/files.js';
import type { PlannerCase } from '../../../test/planner-cases.js';
import type { Fail2banDesired } from '../recipe.js';
import { appliance } from './hosts.js';

const TUNED = jailLocal.replace('maxretry = 10', 'maxretry = 4').replace('bantime = 300', 'bantime = 600');
const JAIL = '/etc/fail2ban/jail.local';

export const FAIL2BAN_CASES: PlannerCase<Fail2banDesired>[] = [
  {
    name: 'shipped -> enabled with maxretry 4: enable as the guide does, then the tuning',
    desired: { enabled: true, maxretry: 4 },
    facts: appliance(),
    expected: {
      changes: [
        {
          summary: 'enable fail2ban (update-rc.d fail2ban enable, /etc/init.d/fail2ban restart)',
          notify: ['fail2ban:enable-at-boot', 'fail2ban:restart'],
        },
        { summary: 'jail.local: [pexiprp] maxretry 10 -> 4', writes: [JAIL], notify: ['fail2ban:restart'] },
      ],
    },
  },
  {
    name: 'enabled, running and tuned as wanted: in sync',
    desired: { enabled: true, maxretry: 4, bantime: 600, findtime: 300 },
    facts: appliance({
      boot: 'S',
      running: true,
      jail: TUNED,
    }),
    expected: { changes: [] },
  },
  {
    name: 'a value changes on a running fail2ban: written and restarted',
    desired: { bantime: 900 },
    facts: appliance({ boot: 'S', running: true }),
    expected: {
      changes: [
        { summary: 'jail.local: [DEFAULT] bantime 300 -> 900', writes: [JAIL], notify: ['fail2ban:restart'] },
      ],
    },
  },
  {
    name: 'a value changes on a stopped fail2ban: written for its next start, nothing restarted',
    desired: { bantime: 900 },
    facts: appliance(),
    expected: {
      changes: [
        {
          summary:
            'jail.local: [DEFAULT] bantime 300 -> 900 (fail2ban is not running: read at its next start)',
          writes: [JAIL],
          notify: [],
        },
      ],
    },
  },
  {
    name: 'enabled at boot but stopped: started',
    desired: { enabled: true },
    facts: appliance({ boot: 'S', running: false }),
    expected: {
      changes: [{ summary: 'start fail2ban: enabled at boot but not running', notify: ['fail2ban:restart'] }],
    },
  },
  {
    name: 'enabled, but the server was killed (PID file and socket left behind): started',
    desired: { enabled: true, maxretry: 4 },
    facts: appliance({ boot: 'S', killed: true, jail: TUNED }),
    expected: {
      changes: [{ summary: 'start fail2ban: enabled at boot but not running', notify: ['fail2ban:restart'] }],
    },
  },
  {
    name: 'running but only some runlevels start it: enabled at boot, no restart',
    desired: { enabled: true },
    facts: appliance({ boot: 'partial', running: true }),
    expected: {
      changes: [
        {
          summary: 'enable fail2ban at boot: running, but not started at boot (only some runlevels start it)',
          notify: ['fail2ban:enable-at-boot'],
        },
      ],
    },
  },
  {
    name: 'running and started at boot -> disabled: as the guide does',
    desired: { enabled: false },
    facts: appliance({ boot: 'S', running: true }),
    expected: {
      changes: [
        {
          summary: 'disable fail2ban (update-rc.d fail2ban disable, /etc/init.d/fail2ban stop)',
          notify: ['fail2ban:disable-at-boot', 'fail2ban:stop'],
        },
      ],
    },
  },
  {
    name: 'shipped -> disabled: in sync',
    desired: { enabled: false },
    facts: appliance(),
    expected: { changes: [] },
  },
  {
    name: 'the jail files do not load: a warning, the change still planned',
    desired: { maxretry: 4 },
    facts: appliance({ jailD: { 'zz.local': '[pexiprp]\nbantime = %(nothing)s\n' } }),
    expected: {
      changes: [{ summary: /maxretry 10 -> 4/ }],
      warnings: [
        'fail2ban would not load its jail files ([pexiprp] bantime: %(nothing)s names no option): its configuration test will refuse any change',
      ],
    },
  },
  {
    name: 'forced on an appliance flagged usersBehindNat: a warning',
    desired: { enabled: true, usersBehindNat: true, force: true },
    facts: appliance(),
    expected: {
      changes: [{ summary: /^enable fail2ban/ }],
      warnings: [/usersBehindNat: users behind that NAT can ban each other out/],
    },
  },
  {
    name: '[pexiprp] sets its own bantime: a plan error',
    desired: { bantime: 600 },
    facts: appliance({ jail: jailLocal.replace('maxretry = 10', 'maxretry = 10\nbantime = 60') }),
    expected: { error: /\[pexiprp\] sets its own bantime = 60, which wins over \[DEFAULT\]/ },
  },
  {
    name: 'a file in jail.d/ overrides maxretry: a plan error',
    desired: { maxretry: 4 },
    facts: appliance({ jailD: { 'zz.local': '[pexiprp]\nmaxretry = 6\n' } }),
    expected: { error: /fail2ban loads maxretry = 6 for the pexiprp jail, not the 10 of/ },
  },
  {
    name: 'no jail.local: a plan error, rpctl does not create it',
    desired: { maxretry: 4 },
    facts: appliance({ jail: '' }),
    expected: { error: /jail\.local does not exist; rpctl tunes the appliance's file/ },
  },
];
