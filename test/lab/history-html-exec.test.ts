/**
 * Issue 18, points 4-6 against the lab, read-only on the appliances (no reset needed: drift only
 * plans, and the drift below comes from the inventories, not from changed appliances):
 *
 * - exec: secrets: the lab's sudo password lives in a real `pass` store (a throw-away GnuPG home);
 *   `exec:pass show lab/sudo` is resolved once and never shows; a missing entry is exit 3 naming
 *   the reference and the inventory line, with nothing contacted and nothing pass printed.
 * - history per fleet: two inventories that both have lab-1, sharing one state directory (one
 *   through --state-dir, one through $RPCTL_STATE_DIR): `drift history -i A` shows only A's.
 * - the fleet page: `drift --format html`, rendered by headless Chromium into
 *   test-output/fleet.png, holds every host and recipe and no secret.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFiles, labConfig, readState } from './lab.js';
import { acceptedLogins, labInventoryFile, rpctl, scratch, stateFiles } from './rpctl.js';

const names = readState()!.appliances.map((a) => a.name);
const first = names[0]!;
const sudoPassword = clientFiles().sudoPassword();
const outputDir = join(labConfig().repoRoot, 'test-output');

/** A pass store in a throw-away GnuPG home holding the lab's sudo password as lab/sudo. */
function passStore(): NodeJS.ProcessEnv {
  const env = {
    ...process.env,
    GNUPGHOME: join(scratch, 'gnupg'),
    PASSWORD_STORE_DIR: join(scratch, 'password-store'),
  };
  mkdirSync(env.GNUPGHOME, { mode: 0o700 });
  const uid = 'rpctl lab <lab@example.invalid>';
  const gpg = ['--batch', '--pinentry-mode', 'loopback', '--passphrase', ''];
  execFileSync('gpg', [...gpg, '--quick-gen-key', uid, 'default', 'default', 'never'], {
    env,
    stdio: 'ignore',
  });
  execFileSync('pass', ['init', 'lab@example.invalid'], { env, stdio: 'ignore' });
  execFileSync('pass', ['insert', '-m', 'lab/sudo'], {
    env,
    input: `${sudoPassword}\n`,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  return env;
}

/** The lab inventory with its sudo password from `pass`; `edit` changes it further. */
function vaultInventory(entry: string, edit?: (doc: ReturnType<typeof JSON.parse>) => void): string {
  return labInventoryFile((doc) => {
    doc.defaults.sudo.password = `exec:pass show ${entry}`;
    edit?.(doc);
  });
}

const lineOf = (file: string, text: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((line) => line.includes(text)) + 1;

describe('exec: secrets, history per fleet, the fleet page', () => {
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    env = passStore();
    mkdirSync(outputDir, { recursive: true });
  });
  afterAll(() => {
    // the gpg-agent gpg started for the throw-away home
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' });
  });

  it('reads the sudo password from pass (exec:), never showing it', async () => {
    const inventory = vaultInventory('lab/sudo');
    const state = join(scratch, 'exec-state');
    const result = await rpctl(['drift', '-i', inventory, '--format', 'json'], {
      env: { ...env, RPCTL_STATE_DIR: state },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).hosts.map((h: { status: string }) => h.status)).toEqual(
      names.map(() => 'in-sync'),
    );
    const everything = [
      result.stdout,
      result.stderr,
      ...stateFiles(state).map((f) => readFileSync(f, 'utf8')),
    ];
    for (const text of everything) expect(text).not.toContain(sudoPassword);
  });

  it('refuses a reference pass cannot answer: exit 3 naming it and its line, nothing contacted, nothing echoed', async () => {
    const inventory = vaultInventory('lab/missing');
    const logins = acceptedLogins(first);
    const result = await rpctl(['drift', '-i', inventory], { env });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `rpctl: secret exec:pass show lab/missing (sudo.password of ${names[0]}, sudo.password of ${names[1]} and ${names.length - 2} more) at ${inventory}:${lineOf(inventory, 'exec:pass')}: the command exited with status 1\n`,
    );
    expect(result.stderr).not.toMatch(/password store/i); // what pass printed stays unread
    expect(result.stdout).toBe('');
    expect(acceptedLogins(first)).toBe(logins);
  });

  it('keeps history per fleet: two inventories with the same lab-1 never mix, in one shared state directory', async () => {
    const state = join(scratch, 'shared-state');
    mkdirSync(state, { mode: 0o700 });
    // the history of older versions: keyed by host name alone, left alone and not shown
    writeFileSync(
      join(state, 'history.jsonl'),
      `${JSON.stringify({ time: '2026-01-01T00:00:00Z', runId: 'x', mode: 'drift', host: first, status: 'drift', recipes: { upstreams: { drift: true, changes: ['legacy'] } } })}\n`,
    );
    const alpha = vaultInventory('lab/sudo', (doc) => {
      doc.fleet = 'alpha';
      doc.history = { keep: '30d' };
      doc.appliances[first].upstreams.nodes.push('127.0.3.77');
    });
    const beta = labInventoryFile(); // no fleet: name: its path is its identity
    expect((await rpctl(['drift', '-i', alpha, '--state-dir', state], { env })).code).toBe(2);
    expect((await rpctl(['drift', '-i', beta], { env: { RPCTL_STATE_DIR: state } })).code).toBe(0);

    type Span = { fleet: string; host: string; recipe: string; state: string; changes: string[] };
    const history = async (args: string[], tty = false) => {
      const result = await rpctl(['drift', 'history', ...args, '--state-dir', state], { env, tty });
      expect(result.code, result.stderr).toBe(0);
      return result;
    };
    const spansOf = async (args: string[]) =>
      JSON.parse((await history([...args, '--format', 'json'])).stdout).spans as Span[];

    const ofAlpha = await spansOf(['-i', alpha, '--since', '7d']);
    expect(new Set(ofAlpha.map((s) => s.fleet))).toEqual(new Set(['alpha']));
    // one span per host and concern: the upstreams recipe and the services it keeps running
    expect(ofAlpha.map((s) => [s.host, s.recipe, s.state])).toEqual(
      names.flatMap((n) => [
        [n, 'services', 'in-sync'],
        [n, 'upstreams', n === first ? 'drift' : 'in-sync'],
      ]),
    );
    const drifted = ofAlpha.find((s) => s.host === first && s.recipe === 'upstreams')!;
    expect(drifted.changes).toEqual([expect.stringContaining('127.0.3.77')]);
    const ofBeta = await spansOf(['-i', beta]);
    expect(ofBeta.map((s) => [s.fleet, s.host, s.recipe, s.state])).toEqual(
      names.flatMap((n) => [
        [beta, n, 'services', 'in-sync'],
        [beta, n, 'upstreams', 'in-sync'],
      ]),
    );
    const all = await spansOf([]);
    expect(new Set(all.map((s) => s.fleet))).toEqual(new Set(['alpha', beta]));

    const text = await history(['-i', alpha], true);
    expect(text.stdout).toMatch(
      new RegExp(`^${first}\tupstreams\tdrift since just now\t\\(last check just now\\)\t`, 'm'),
    );
    expect(text.stdout).not.toContain('legacy');
    expect(text.stderr).toContain(`${join(state, 'history.jsonl')} is the history of an older rpctl`);
    expect((await rpctl(['drift', 'history', '-i', alpha, '--since', 'a week'], { env })).code).toBe(3);
  });

  it('draws the fleet on one self-contained page, rendered by headless Chromium', async () => {
    const page = join(outputDir, 'fleet.html');
    const screenshot = join(outputDir, 'fleet.png');
    const inventory = vaultInventory('lab/sudo', (doc) => {
      doc.fleet = 'lab fleet';
      doc.appliances[first].upstreams.nodes.push('127.0.3.78');
      for (const name of names)
        doc.appliances[name].fail2ban = { enabled: false, bantime: 300, findtime: 300, maxretry: 10 };
    });
    const state = join(scratch, 'html-state');
    await rpctl(['drift', '-i', inventory], { env: { ...env, RPCTL_STATE_DIR: state } }); // some history
    const result = await rpctl(['drift', '-i', inventory, '--format', 'html', '--output', page], {
      env: { ...env, RPCTL_STATE_DIR: state },
    });
    expect(result.code, result.stderr).toBe(2);
    const html = readFileSync(page, 'utf8');
    for (const name of names) {
      for (const recipe of ['upstreams', 'fail2ban']) expect(html).toContain(`data-cell="${name}/${recipe}"`);
    }
    expect(html).toContain(`<td class="drift" data-cell="${first}/upstreams"><details>`);
    expect(html).toMatch(/<pre>~ [^<]*127\.0\.3\.78[\s\S]*\+\s+server 127\.0\.3\.78:443/); // summary and diff
    expect(html).toContain('Certificate expiry');
    expect(html).not.toContain(sudoPassword);
    expect(html).not.toMatch(/<script|(src|href)=|url\(|@import|https?:\/\//); // nothing fetched when viewed

    const profile = mkdtempSync(join(scratch, 'chromium-'));
    const chromium = spawnSync(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        `--screenshot=${screenshot}`,
        '--window-size=1400,900',
        `file://${page}`,
      ],
      { encoding: 'utf8', timeout: 90_000 },
    );
    expect(chromium.status, chromium.stderr).toBe(0);
    expect(existsSync(screenshot)).toBe(true);
    expect(readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');
    expect(statSync(screenshot).size).toBeGreaterThan(20_000); // a drawn page, not a blank one
  });
});
