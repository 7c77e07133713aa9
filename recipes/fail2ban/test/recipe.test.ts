import { describe, expect, it } from 'vitest';
import type { Change } from '../../../src/engine/contract.js';
import { HostError, InputError } from '../../../src/errors.js';
import type { ApplianceConfig } from '../../../src/inventory/model.js';
import { withSection } from '../../../src/inventory/section.js';
import { jailLocal } from '../../../test/lab/files.js';
import { describeFail2ban } from '../describe.js';
import { bootStateOf, fail2banState, JAIL_LOCAL, jailFilesOf } from '../facts.js';
import { type Fail2banDesired, fail2banInventorySection, fail2banRecipe, HANDLERS } from '../recipe.js';
import { NAT_REFUSAL, PERMANENT_BAN } from '../schema.js';
import { appliance, type HostState, JAIL_CONF, jailFilesOutput } from './hosts.js';

const ctx = { host: 'rp1', now: new Date(0) };
const plan = (desired: Fail2banDesired, state?: HostState) =>
  fail2banRecipe.plan(desired, appliance(state), ctx);
const handlerIds = (changes: readonly Change[]) => changes.flatMap((c) => (c.notify ?? []).map((h) => h.id));
const written = (change: Change | undefined) => change?.writes?.[0]?.content.toString('latin1');

function planError(desired: Fail2banDesired, state?: HostState): string {
  try {
    plan(desired, state);
  } catch (err) {
    if (err instanceof HostError) return err.message;
    throw err;
  }
  throw new Error('expected a plan error');
}

describe('fail2ban planner', () => {
  it('enables a shipped appliance as the guide does: update-rc.d enable, then restart, config tested first', () => {
    const { changes } = plan({ enabled: true, maxretry: 4 });
    expect(changes.map((c) => c.summary)).toEqual([
      'enable fail2ban (update-rc.d fail2ban enable, /etc/init.d/fail2ban restart)',
      'jail.local: [pexiprp] maxretry 10 -> 4',
    ]);
    expect(handlerIds(changes)).toEqual(['fail2ban:enable-at-boot', 'fail2ban:restart', 'fail2ban:restart']);
    expect(HANDLERS.enableAtBoot.command.text).toBe('update-rc.d fail2ban enable');
    expect(HANDLERS.restart.command.text).toBe('/etc/init.d/fail2ban restart');
    // the configuration test only where jail.local changes: starting fails on its own if it must
    expect(changes.map((c) => (c.validate ?? []).map((v) => v.text))).toEqual([[], ['fail2ban-client -t']]);
    expect(changes.some((c) => c.disruptive || c.notify?.some((h) => h.disruptive))).toBe(false);
    expect(written(changes[1])).toBe(jailLocal.replace('maxretry = 10', 'maxretry = 4'));
  });

  it('plans nothing when enabled, running and tuned as wanted (no restart)', () => {
    const facts = {
      boot: 'S' as const,
      running: true,
    };
    const tuned = jailLocal
      .replace('maxretry = 10', 'maxretry = 4')
      .replace('bantime = 300', 'bantime = 600');
    expect(
      plan({ enabled: true, maxretry: 4, bantime: 600, findtime: 300 }, { ...facts, jail: tuned }).changes,
    ).toEqual([]);
  });

  it('restarts a running fail2ban when a value changes, and only writes a stopped one', () => {
    const running = plan({ bantime: 900 }, { boot: 'S', running: true }).changes;
    expect(running.map((c) => c.summary)).toEqual(['jail.local: [DEFAULT] bantime 300 -> 900']);
    expect(handlerIds(running)).toEqual(['fail2ban:restart']);
    const stopped = plan({ bantime: 900 }).changes;
    expect(stopped.map((c) => c.summary)).toEqual([
      'jail.local: [DEFAULT] bantime 300 -> 900 (fail2ban is not running: read at its next start)',
    ]);
    expect(handlerIds(stopped)).toEqual([]);
    expect(stopped[0]?.validate?.map((v) => v.text)).toEqual(['fail2ban-client -t']);
    // disabling and tuning at once: written, stopped, never restarted
    const disable = plan({ enabled: false, bantime: 900 }, { boot: 'S', running: true }).changes;
    expect(handlerIds(disable)).toEqual(['fail2ban:disable-at-boot', 'fail2ban:stop']);
  });

  it('converges each half of "enabled": started at boot but stopped, running but not started at boot', () => {
    const stopped = plan({ enabled: true }, { boot: 'S', running: false }).changes;
    expect(stopped.map((c) => c.summary)).toEqual(['start fail2ban: enabled at boot but not running']);
    expect(handlerIds(stopped)).toEqual(['fail2ban:restart']);
    const notAtBoot = plan({ enabled: true }, { boot: 'partial', running: true }).changes;
    expect(notAtBoot.map((c) => c.summary)).toEqual([
      'enable fail2ban at boot: running, but not started at boot (only some runlevels start it)',
    ]);
    expect(handlerIds(notAtBoot)).toEqual(['fail2ban:enable-at-boot']);
    expect(notAtBoot[0]?.validate).toBeUndefined();
  });

  it('disables as the guide does, and converges each half of "disabled"', () => {
    const both = plan({ enabled: false }, { boot: 'S', running: true }).changes;
    expect(both.map((c) => c.summary)).toEqual([
      'disable fail2ban (update-rc.d fail2ban disable, /etc/init.d/fail2ban stop)',
    ]);
    expect(HANDLERS.disableAtBoot.command.text).toBe('update-rc.d fail2ban disable');
    expect(HANDLERS.stop.command.text).toBe('/etc/init.d/fail2ban stop');
    expect(handlerIds(plan({ enabled: false }, { boot: '-', running: true }).changes)).toEqual([
      'fail2ban:stop',
    ]);
    expect(handlerIds(plan({ enabled: false }, { boot: 'partial' }).changes)).toEqual([
      'fail2ban:disable-at-boot',
    ]);
    expect(plan({ enabled: false }).changes).toEqual([]);
  });

  it('tests the configuration with -d where fail2ban has no -t (0.8/0.9)', () => {
    const { changes } = plan({ maxretry: 5 }, { configTest: '-d' });
    expect(changes[0]?.validate?.map((v) => v.text)).toEqual(['fail2ban-client -d > /dev/null']);
  });

  it('refuses a value [pexiprp] overrides, and one a later file overrides', () => {
    const own = jailLocal.replace('maxretry = 10', 'maxretry = 10\nbantime = 60');
    expect(planError({ bantime: 600 }, { jail: own })).toBe(
      `rp1: ${JAIL_LOCAL}: [pexiprp] sets its own bantime = 60, which wins over [DEFAULT] where the Pexip guide (and rpctl) sets it; remove that line from [pexiprp] first`,
    );
    const overridden = { 'zz.local': '[pexiprp]\nmaxretry = 6\n' };
    expect(planError({ maxretry: 4 }, { jailD: overridden })).toBe(
      `rp1: fail2ban loads maxretry = 6 for the pexiprp jail, not the 10 of ${JAIL_LOCAL}: a file loaded after it (/etc/fail2ban/jail.d/) overrides it, and rpctl manages jail.local only`,
    );
  });

  it('warns instead of checking overrides when the configuration does not load', () => {
    const result = plan({ maxretry: 4 }, { jailD: { 'zz.local': 'maxretry = 6\n' } });
    expect(result.warnings).toEqual([
      'fail2ban would not load its jail files (/etc/fail2ban/jail.d/zz.local:1: an option before any [section]): its configuration test will refuse any change',
    ]);
    expect(result.changes).toHaveLength(1);
  });

  it('refuses to create jail.local or a missing jail, with the file named', () => {
    expect(planError({ maxretry: 4 }, { jail: '' })).toBe(
      `rp1: ${JAIL_LOCAL} does not exist; rpctl tunes the appliance's file and does not create it`,
    );
    expect(planError({ maxretry: 4 }, { jail: '[DEFAULT]\nbantime = 300\n' })).toBe(
      `rp1: ${JAIL_LOCAL} has no [pexiprp] section`,
    );
  });

  it('warns when fail2ban runs (forced) on an appliance flagged usersBehindNat', () => {
    const result = plan({ enabled: true, usersBehindNat: true, force: true });
    expect(result.warnings?.[0]).toMatch(/usersBehindNat: users behind that NAT can ban each other out/);
    expect(plan({ usersBehindNat: true }).warnings).toEqual([]);
  });
});

describe('fail2ban desired state', () => {
  const refusal = (raw: unknown) => {
    try {
      // a one-off's section is validated where it replaces the inventory's
      withSection({ name: 'rp1', sections: {} } as unknown as ApplianceConfig, fail2banInventorySection, raw);
    } catch (err) {
      if (err instanceof InputError) return err.message;
      throw err;
    }
    return 'accepted';
  };

  it('refuses enabling an appliance flagged usersBehindNat unless forced, with the guide’s reason', () => {
    expect(refusal({ enabled: true, usersBehindNat: true })).toBe(`rp1: fail2ban.enabled: ${NAT_REFUSAL}`);
    expect(NAT_REFUSAL).toMatch(/share one source address.*without ever entering a wrong PIN/);
    expect(refusal({ enabled: true, usersBehindNat: true, force: true })).toBe('accepted');
    expect(refusal({ enabled: false, usersBehindNat: true })).toBe('accepted');
  });

  it('refuses values out of range, -1 with its own reason', () => {
    expect(refusal({ maxretry: 0 })).toBe('rp1: fail2ban.maxretry: must be a whole number from 1 to 1000');
    expect(refusal({ bantime: -5 })).toBe('rp1: fail2ban.bantime: must be whole seconds from 1 to 31536000');
    expect(refusal({ bantime: -1 })).toBe(`rp1: fail2ban.bantime: ${PERMANENT_BAN}`);
    expect(refusal({ findtime: 'ten' })).toBe(
      'rp1: fail2ban.findtime: must be whole seconds from 1 to 604800',
    );
    expect(refusal({ findtime: 30.5 })).toBe(
      'rp1: fail2ban.findtime: must be whole seconds from 1 to 604800',
    );
    expect(refusal({})).toMatch(/an empty fail2ban section manages nothing/);
    expect(refusal({ maxretry: 4, extra: 1 })).toMatch(/^rp1: fail2ban/);
  });
});

describe('fail2ban running', () => {
  const withRunning = (output: string) => {
    const facts = appliance({ boot: 'S' });
    const commands = new Map([['fail2ban.running', { id: 'fail2ban.running', code: 0, output }]]);
    return { ...facts, command: (id: string) => commands.get(id) ?? facts.command(id) } as typeof facts;
  };

  it('reports fail2ban where it is enabled, from its PID file, /proc and socket (no Python)', () => {
    expect(fail2banRecipe.services?.({ enabled: true }, appliance({ running: true }))).toEqual([
      { service: 'fail2ban', running: true },
    ]);
    expect(fail2banRecipe.services?.({ enabled: true }, appliance())).toEqual([
      { service: 'fail2ban', running: false },
    ]);
    expect(fail2banRecipe.services?.({ enabled: false }, appliance())).toEqual([]);
    expect(fail2banRecipe.services?.({ maxretry: 4 }, appliance({ running: true }))).toEqual([]);
    const commands = fail2banRecipe.facts.commands?.map((c) => c.command.text).join('\n') ?? '';
    expect(commands).not.toMatch(/fail2ban-client (ping|-d|status)|service fail2ban/);
  });

  it('a server killed with its PID file and socket left behind is stopped: started again', () => {
    const killed = withRunning('pid 3113\nprocess none\nsocket present\ninit present\n');
    expect(fail2banRecipe.plan({ enabled: true }, killed, ctx).changes.map((c) => c.summary)).toEqual([
      'start fail2ban: enabled at boot but not running',
    ]);
  });

  it('is part of what rpctl facts prints', () => {
    expect(describeFail2ban(appliance({ boot: 'S', running: true }))).toEqual({
      fail2ban: {
        installed: true,
        running: true,
        detail: 'pid 3113, fail2ban-server, socket present',
        boot: 'enabled',
      },
    });
    expect(describeFail2ban(withRunning('pid absent\nsocket absent\ninit absent\n'))).toEqual({
      fail2ban: { installed: false },
    });
  });

  it('refuses an appliance without fail2ban, and a run that did not read its state', () => {
    expect(() =>
      fail2banRecipe.plan({ enabled: true }, withRunning('pid absent\ninit absent\n'), ctx),
    ).toThrow(/rp1: fail2ban is not installed/);
    const unread = appliance();
    const facts = {
      ...unread,
      command: (id: string) => (id === 'fail2ban.running' ? undefined : unread.command(id)),
    };
    expect(() => fail2banRecipe.plan({ enabled: true }, facts as typeof unread, ctx)).toThrow(/was not read/);
  });
});

describe('fail2ban facts', () => {
  it('reads the boot links of runlevels 2-5', () => {
    expect(bootStateOf('rc2 S\nrc3 S\nrc4 S\nrc5 S\n')).toBe('enabled');
    expect(bootStateOf('rc2 -\nrc3 -\nrc4 -\nrc5 -\n')).toBe('disabled');
    expect(bootStateOf('rc2 S\nrc3 -\nrc4 -\nrc5 -\n')).toBe('partial');
  });

  it("computes the jail's values from the jail files the fact printed, in fail2ban's order", () => {
    const output = jailFilesOutput({
      '/etc/fail2ban/jail.conf': JAIL_CONF,
      '/etc/fail2ban/jail.d/zz.local': '[DEFAULT]\nfindtime = 1h\n',
      [JAIL_LOCAL]: jailLocal,
    });
    expect(jailFilesOf(output).map((f) => f.path)).toEqual([
      '/etc/fail2ban/jail.conf',
      '/etc/fail2ban/jail.d/zz.local',
      JAIL_LOCAL,
    ]);
    expect(
      fail2banState(appliance({ jailD: { 'zz.local': '[DEFAULT]\nfindtime = 1h\n' } }), 'rp1').loaded,
    ).toEqual({
      bantime: '300',
      findtime: '1h',
      maxretry: '10',
    });
    expect(fail2banState(appliance({ jail: '' }), 'rp1').loaded).toEqual({
      bantime: '10m',
      findtime: '10m',
      maxretry: '5',
    });
  });
});
