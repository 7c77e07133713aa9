import { describe, expect, it } from 'vitest';
import type { Check } from '../../../src/engine/contract.js';
import { HostError, InputError } from '../../../src/errors.js';
import type { SecretRef } from '../../../src/inventory/model.js';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import type { TurnAllocateParams } from '../allocate-probe.js';
import { turnKey } from '../client/turn-client.js';
import { PASSWORD_UPLOAD, turnCredentialsOf, turnCredentialsRecipe } from '../credentials.js';
import { turnNatOf, turnNatRecipe } from '../nat.js';
import { turnSection } from '../schema.js';
import { parseUserDb, readUserDb, USERDB_FACT } from '../userdb.js';
import { appliance, REALM } from './hosts.js';

const PASSWORD = 'N3w-Turn-Pass!';
const ref: SecretRef = { kind: 'file', path: '/secrets/turn' };
const ctx = { host: 'rp1', now: new Date(0) };
const hex = (s: string) => Buffer.from(s).toString('hex').toUpperCase();
const row = (name: string, password: string, realm = REALM) =>
  `${hex(realm)} ${hex(name)} ${turnKey(name, realm, password)}`;

const credentials = (extra: Record<string, unknown> = {}) =>
  turnCredentialsOf(
    turnSection.parse({ credentials: { username: 'pexip', password: 'file:/secrets/turn', ...extra } }),
    'rp1',
    () => PASSWORD,
  )!;

describe('turn-credentials plan', () => {
  it('changes nothing, and runs no turnadmin, when the stored key is the one of the password', () => {
    const result = turnCredentialsRecipe.plan(credentials(), appliance('v4', [row('pexip', PASSWORD)]), ctx);
    expect(result.changes).toEqual([]);
  });

  it('sets a changed password with turnadmin, reading it from the upload, never from the command', () => {
    const { changes, warnings } = turnCredentialsRecipe.plan(
      credentials(),
      appliance('v7', [row('pexip', 'old-password')]),
      ctx,
    );
    expect(changes).toHaveLength(1);
    const [step] = changes[0]!.steps!;
    expect(step!.command.text).toBe(
      `turnadmin -k -a -b /etc/turnuserdb.conf -u pexip -r vc.example.com -p "$(cat "$RPCTL_UPLOAD/${PASSWORD_UPLOAD}")"`,
    );
    expect(step!.secretFiles).toEqual({ [PASSWORD_UPLOAD]: PASSWORD });
    expect(step!.touches).toEqual(['/etc/turnuserdb.conf']);
    expect(changes[0]!.summary).toBe('set the password of TURN user pexip@vc.example.com');
    expect(changes[0]!.notify ?? []).toEqual([]); // no restart: coturn reads the database each time
    const shown = `${changes[0]!.summary}\n${changes[0]!.display}`;
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain(turnKey('pexip', REALM, PASSWORD));
    // the plan shows where the TURN server listens and relays
    expect(changes[0]!.display).toContain('listening on 10.40.1.5 port 3478, relaying from 10.40.1.5');
    expect((warnings ?? []).join('\n')).toContain('Call Control > TURN Servers');
  });

  it('adds a missing user, and with exclusive removes every other one (other realms too)', () => {
    const facts = appliance('v4', [row('alice', 'x'), row('bob', 'y', 'old.example.com')]);
    expect(turnCredentialsRecipe.plan(credentials(), facts, ctx).changes[0]!.steps).toHaveLength(1);
    const { changes } = turnCredentialsRecipe.plan(credentials({ exclusive: true }), facts, ctx);
    expect(changes[0]!.summary).toBe(
      'add TURN user pexip@vc.example.com, remove TURN user alice@vc.example.com, remove TURN user bob@old.example.com',
    );
    expect(changes[0]!.steps![2]!.command.text).toBe(
      'turnadmin -d -b /etc/turnuserdb.conf -u bob -r old.example.com',
    );
    // exclusive and already alone: nothing to do
    const alone = appliance('v4', [row('pexip', PASSWORD)]);
    expect(turnCredentialsRecipe.plan(credentials({ exclusive: true }), alone, ctx).changes).toEqual([]);
  });

  it('fails the host when the inventory realm differs from realm= (never a silent change)', () => {
    const facts = appliance('v4', [row('pexip', PASSWORD)]);
    expect(() => turnCredentialsRecipe.plan(credentials({ realm: 'other.example.com' }), facts, ctx)).toThrow(
      /rp1: turn\.credentials\.realm is "other\.example\.com" but \/etc\/turnserver\.conf has realm=vc\.example\.com/,
    );
    expect(turnCredentialsRecipe.plan(credentials({ realm: REALM }), facts, ctx).changes).toEqual([]);
  });

  it('refuses an appliance whose TURN server uses another database or a shared secret', () => {
    const conf = (text: string) => appliance('v7', [], text);
    expect(() => turnCredentialsRecipe.plan(credentials(), conf('realm=vc.example.com\n'), ctx)).toThrow(
      /no userdb= line/,
    );
    expect(() =>
      turnCredentialsRecipe.plan(
        credentials(),
        conf('realm=vc.example.com\nuserdb=/etc/turnuserdb.conf\nuse-auth-secret\n'),
        ctx,
      ),
    ).toThrow(/shared secret/);
  });

  it('verifies with the key on disk and two real allocations: the credentials, and a wrong password', () => {
    const checks = turnCredentialsRecipe.verify!(
      credentials(),
      appliance('v7', [row('pexip', PASSWORD)]),
      ctx,
    );
    const outcome = (c: Check) =>
      c.kind === 'assert' ? c.ok : (c.params as TurnAllocateParams).expect.outcome;
    expect(checks.map((c) => [c.kind === 'probe' ? c.probe : c.kind, outcome(c)])).toEqual([
      ['assert', true],
      ['turn-allocate', 'success'],
      ['turn-allocate', 'unauthorized'],
    ]);
    const wrong = (checks[2] as Extract<Check, { kind: 'probe' }>).params;
    expect(wrong).toMatchObject({
      wrongPassword: true,
      password: ref,
      username: 'pexip',
      realm: REALM,
      port: 3478,
    });
    const stale = turnCredentialsRecipe.verify!(credentials(), appliance('v7', [row('pexip', 'old')]), ctx);
    expect(stale[0]).toMatchObject({ kind: 'assert', ok: false });
  });

  it('rejects bad usernames and passwords before any host is contacted (InputError)', () => {
    const parse = (username: string) =>
      turnSection.safeParse({ credentials: { username, password: 'env:X' } });
    expect(parse('').error?.issues[0]?.message).toBe('the TURN username must not be empty');
    expect(parse('a:b').error?.issues[0]?.message).toMatch(/must not contain ":"/);
    expect(parse('-x').success).toBe(false);
    expect(parse('pexip.turn@example.com').success).toBe(true);
    const withPassword = (password: string) => () =>
      turnCredentialsOf(
        turnSection.parse({ credentials: { username: 'pexip', password: 'env:X' } }),
        'rp1',
        () => password,
      );
    expect(withPassword('two\nlines')).toThrow(InputError);
    expect(withPassword('x'.repeat(128))).toThrow(/longer than 127 bytes/);
  });
});

describe('the TURN user database fact', () => {
  it('is read-only: sqlite3 -readonly, python3 mode=ro, turnadmin -l with its log removed', () => {
    const text = readUserDb.text;
    expect(text).toContain('sqlite3 -readonly');
    expect(text).toContain('mode=ro');
    expect(text).toContain('turnadmin -l');
    // turnadmin's log is named after its PID
    expect(text).toContain('rm -f "/var/log/turn_$' + '{pid}_"*.log');
    expect(text).not.toMatch(/turnadmin -[akd]/);
  });

  it('parses hex-encoded names, turnadmin listings, an absent file, and fails on errors', () => {
    const fact = (output: string, code = 0) => ({ id: USERDB_FACT, code, output });
    expect(parseUserDb(fact(`@userdb sqlite3\n${hex('r')} ${hex('a b')} ABCDEF\n`), 'rp1')).toEqual({
      reader: 'sqlite3',
      users: [{ realm: 'r', name: 'a b', key: 'abcdef' }],
    });
    expect(
      parseUserDb(fact('@userdb turnadmin\n0: : log file opened\npexip[vc.example.com]\n'), 'rp1'),
    ).toEqual({
      reader: 'turnadmin',
      users: [{ name: 'pexip', realm: 'vc.example.com' }],
    });
    expect(parseUserDb(fact('@userdb absent\n'), 'rp1')).toEqual({ reader: 'absent', users: [] });
    expect(() => parseUserDb(fact('@userdb failed\nError: file is not a database\n', 1), 'rp1')).toThrow(
      'rp1: cannot read the TURN users in /etc/turnuserdb.conf: Error: file is not a database',
    );
    expect(() => parseUserDb(fact(`@userdb sqlite3\nbad|line\n`), 'rp1')).toThrow(HostError);
  });

  it('without keys (turnadmin only) sets the password every time and says so', () => {
    const facts = appliance('v4', []);
    const host = fakeFacts({
      files: { '/etc/turnserver.conf': facts.text('/etc/turnserver.conf')! },
      commands: { [USERDB_FACT]: '@userdb turnadmin\npexip[vc.example.com]\n' },
    });
    const { changes, warnings } = turnCredentialsRecipe.plan(credentials(), host, ctx);
    expect(changes).toHaveLength(1);
    expect(warnings?.[0]).toMatch(/stored keys cannot be read/);
  });
});

describe('turn-nat plan', () => {
  const nat = (externalIp: string | null, withCredentials = true) =>
    turnNatOf(
      turnSection.parse({
        externalIp,
        ...(withCredentials ? { credentials: { username: 'pexip', password: 'file:/secrets/turn' } } : {}),
      }),
      'rp1',
    )!;

  it('writes the one line and restarts the generation’s TURN service, disruptively', () => {
    for (const [generation, service] of [
      ['v4', 'rfc5766-turn-server'],
      ['v7', 'coturn'],
    ] as const) {
      const facts = appliance(generation, []);
      const { changes } = turnNatRecipe.plan(nat('203.0.113.5'), facts, ctx);
      expect(changes).toHaveLength(1);
      const [write] = changes[0]!.writes!;
      expect(write!.content.toString()).toBe(
        `${facts.text('/etc/turnserver.conf')}external-ip=203.0.113.5\n`,
      );
      expect(changes[0]!.notify).toEqual([
        {
          id: 'turn:restart',
          command: expect.objectContaining({ text: `service ${service} restart` }),
          disruptive: true,
        },
      ]);
      expect(changes[0]!.summary).toBe(
        `set external-ip=203.0.113.5 (was none; relays from 10.40.1.5, listens on 10.40.1.5 port 3478), restart ${service}`,
      );
    }
  });

  it('is in sync when the line is already there, and null leaves a file without one alone', () => {
    const conf = `${appliance('v7', []).text('/etc/turnserver.conf')}external-ip=203.0.113.5\n`;
    expect(turnNatRecipe.plan(nat('203.0.113.5'), appliance('v7', [], conf), ctx).changes).toEqual([]);
    expect(turnNatRecipe.plan(nat(null), appliance('v7', []), ctx).changes).toEqual([]);
    expect(turnNatRecipe.plan(nat(null), appliance('v7', [], conf), ctx).changes[0]!.summary).toMatch(
      /^remove external-ip \(was 203\.0\.113\.5;/,
    );
  });

  it('verifies the relayed address of a fresh allocation (the relay address once removed)', () => {
    const conf = `${appliance('v7', []).text('/etc/turnserver.conf')}external-ip=203.0.113.5\n`;
    const checks = turnNatRecipe.verify!(nat('203.0.113.5'), appliance('v7', [], conf), ctx);
    expect(checks.map((c) => c.kind === 'assert' && c.ok)).toEqual([true, true, false]);
    expect(checks[2]).toMatchObject({
      kind: 'probe',
      probe: 'turn-allocate',
      params: { realm: REALM, expect: { outcome: 'success', relayedAddress: '203.0.113.5' } },
    });
    expect(turnNatRecipe.verify!(nat(null), appliance('v7', []), ctx)[2]).toMatchObject({
      params: { expect: { relayedAddress: '10.40.1.5' } },
    });
    // no credentials in the section: the file and the running service are checked
    expect(turnNatRecipe.verify!(nat('203.0.113.5', false), appliance('v7', [], conf), ctx)).toHaveLength(2);
  });

  it('absent externalIp is unmanaged; an address that is not one is refused', () => {
    expect(turnNatOf(turnSection.parse({}), 'rp1')).toBeUndefined();
    expect(turnSection.safeParse({ externalIp: '1.2.3' }).error?.issues[0]?.message).toBe(
      '"1.2.3" is not an IPv4 or IPv6 address',
    );
  });
});
