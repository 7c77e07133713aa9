/**
 * The jail values rpctl computes from jail files, against what fail2ban itself loads from the same
 * files: Debian's own /etc/fail2ban (jail.conf, paths-*.conf, jail.d/defaults-debian.conf, as the
 * lab installs them), the appliance's jail.local and pexiprp filter, and jail.d overrides, read by
 * `fail2ban-client -c DIR -d`, on the host; and the facts' own jail-files command on a lab appliance
 * with a jail.d override, against that appliance's `fail2ban-client -d`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fail2banFactSpec, JAIL_FILES, jailFilesOf } from '../../recipes/fail2ban/facts.js';
import { effectiveJailValues, type JailFile } from '../../recipes/fail2ban/jail-values.js';
import { jailLocal, pexiprpFilter } from './files.js';
import { labSh, readState, reset } from './lab.js';

const work = mkdtempSync(join(tmpdir(), 'rpctl-jail-values-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let sets = 0;

/** Debian's configuration directory with the appliance's jail and `extra` files (relative paths). */
function configDir(extra: Record<string, string>, local = jailLocal): string {
  const dir = join(work, `set-${++sets}`);
  cpSync('/etc/fail2ban', dir, { recursive: true });
  writeFileSync(join(dir, 'jail.local'), local);
  writeFileSync(join(dir, 'filter.d', 'pexiprp.conf'), pexiprpFilter);
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

/** What the fact would read: the jail files and the files they include. */
function jailFiles(dir: string): JailFile[] {
  const top = readdirSync(dir).filter((n) => /^(jail\.(conf|local)|paths-.*\.conf)$/.test(n));
  const jailD = readdirSync(join(dir, 'jail.d')).map((n) => `jail.d/${n}`);
  return [...top, ...jailD].map((n) => ({ path: join(dir, n), text: readFileSync(join(dir, n), 'utf8') }));
}

function fail2banLoads(dir: string) {
  const result = spawnSync('fail2ban-client', ['-c', dir, '-d'], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return loadedJailValues(result.stdout);
}

/** `['set', 'pexiprp', 'maxretry', 10]` and `['set', 'pexiprp', 'bantime', '300']` lines of `fail2ban-client -d`. */
function loadedJailValues(dump: string, jail = 'pexiprp'): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of dump.split('\n')) {
    const match = /^\['set', '([^']+)', '(bantime|findtime|maxretry)', (?:'([^']*)'|([^\]']*))\]$/.exec(
      line.trim(),
    );
    if (match && match[1] === jail) values[match[2]!] = (match[3] ?? match[4] ?? '').trim();
  }
  return values;
}

const strip = (text: string, ...lines: string[]) => lines.reduce((t, l) => t.replace(`${l}\n`, ''), text);

const cases: { what: string; extra?: Record<string, string>; local?: string }[] = [
  { what: 'the appliance as shipped' },
  { what: "jail.conf's [DEFAULT] alone", local: strip(jailLocal, 'bantime = 300', 'findtime = 300') },
  { what: 'a jail.d/*.local jail override', extra: { 'jail.d/zz.local': '[pexiprp]\nbantime = 1h\n' } },
  {
    what: 'a jail.d/*.conf jail value before jail.local',
    extra: { 'jail.d/aa.conf': '[pexiprp]\nbantime = 1h\n' },
  },
  {
    what: 'a jail.d/*.local [DEFAULT]',
    extra: { 'jail.d/zz.local': '[DEFAULT]\nbantime = 2h\nfindtime = 1d\n' },
  },
  {
    what: 'a jail.d/*.conf [DEFAULT]',
    extra: { 'jail.d/aa.conf': '[DEFAULT]\nbantime = 2h\nmaxretry = 3\n' },
  },
  { what: 'interpolation', local: jailLocal.replace('findtime = 300', 'findtime = %(bantime)s') },
  { what: 'known/', extra: { 'jail.d/zz.local': '[pexiprp]\nmaxretry = %(known/maxretry)s0\n' } },
  { what: 'no maxretry in the jail', local: strip(jailLocal, 'maxretry = 10') },
];

describe("the pexiprp jail's values, computed and as fail2ban loads them", () => {
  it.each(cases)('$what', ({ extra = {}, local }) => {
    const dir = configDir(extra, local);
    expect(effectiveJailValues(jailFiles(dir), 'pexiprp', dir)).toEqual(fail2banLoads(dir));
  });
});

describe('the jail-files fact on an appliance', () => {
  const host = readState()!.appliances[0]!.name;
  const override = '/etc/fail2ban/jail.d/zz-rpctl-test.local';
  // awaited: a reset left running when the file ends leaves the appliance stopped for the next file
  afterAll(async () => {
    labSh(host, `rm -f ${override}`);
    await reset([host]);
  }, 300_000);

  it('gives the values fail2ban-client -d loads there', () => {
    labSh(host, `printf '[DEFAULT]\\nfindtime = 1h\\n\\n[pexiprp]\\nmaxretry = 7\\n' > ${override}`);
    const command = fail2banFactSpec.commands!.find((c) => c.id === JAIL_FILES)!.command.text;
    const files = jailFilesOf(labSh(host, command));
    expect(files.map((f) => f.path)).toContain(override);
    const computed = effectiveJailValues(files, 'pexiprp');
    expect(computed).toMatchObject({ findtime: '1h', maxretry: '7' });
    expect(computed).toEqual(loadedJailValues(labSh(host, 'fail2ban-client -d 2>/dev/null')));
  });
});
