/**
 * turn-credentials: the long-term TURN user Pexip Infinity authenticates with, in
 * /etc/turnuserdb.conf. It automates the guide's "Changing the TURN server's access credentials":
 *
 *   sudo turnadmin -k -a -b /etc/turnuserdb.conf -u <username> -r <realm> -p <password>
 *
 * Idempotent without ever reading a password back: the stored key is MD5(user:realm:password),
 * so the key computed here from the inventory's password says whether anything changes. An
 * unchanged password runs nothing. The realm is the appliance's `realm=` (an inventory realm
 * that disagrees fails the host); `exclusive: true` also removes every other user.
 *
 * The password reaches the appliance in a 0600 file of the private upload directory and is read
 * into turnadmin's arguments by the step itself: it is in no command rpctl sends, but it is in
 * turnadmin's argv on the appliance while turnadmin runs (turnadmin takes it no other way).
 * No restart: coturn reads the database on every authentication, calls in progress survive.
 *
 * Verified with real TURN Allocates: the new credentials get a relayed address and a wrong
 * password gets 401 (the old password is not known to rpctl, so "any other password" stands in).
 */
import {
  type Check,
  defineRecipe,
  describeSecretRef,
  HostError,
  type HostFacts,
  InputError,
  type PlanContext,
  type PlanResult,
  type RemoteStep,
  type SecretRef,
  sh,
  uploadedFile,
} from '../../src/engine/contract.js';
import {
  describeTurnAddresses,
  TURNSERVER_CONF,
  turnAddresses,
  turnserverSettings,
} from '../services/turnserver-conf.js';
import { TURN_ALLOCATE_PROBE } from './allocate-probe.js';
import { turnKey } from './client/turn-client.js';
import {
  INFINITY_REMINDER,
  type TurnSection,
  turnInventorySection,
  turnPasswordProblem,
  turnUsernameProblem,
} from './schema.js';
import { parseUserDb, readUserDb, TURN_USERDB, type TurnUserDb, USERDB_FACT, userLabel } from './userdb.js';

export const PASSWORD_UPLOAD = 'turn-password';

export interface TurnCredentialsDesired {
  username: string;
  /** the value: the key is computed from it and it is uploaded for turnadmin */
  password: string;
  /** the reference, for the verification probes */
  passwordRef: SecretRef;
  realm?: string;
  exclusive: boolean;
}

/** The realm the appliance's TURN server uses, checked against the inventory's. */
function applianceRealm(desired: TurnCredentialsDesired, facts: HostFacts, host: string): string {
  const conf = facts.text(TURNSERVER_CONF);
  if (conf === undefined) {
    throw new HostError(
      'plan',
      `${host}: ${TURNSERVER_CONF} does not exist; the TURN server is not set up (has the install wizard run?)`,
    );
  }
  const settings = turnserverSettings(conf);
  const realm = settings.get('realm')?.[0];
  if (!realm) throw new HostError('plan', `${host}: ${TURNSERVER_CONF} has no realm= line`);
  if (desired.realm !== undefined && desired.realm !== realm) {
    throw new HostError(
      'plan',
      `${host}: turn.credentials.realm is ${JSON.stringify(desired.realm)} but ${TURNSERVER_CONF} has realm=${realm}; rpctl never changes the realm (fix the inventory or leave realm out)`,
    );
  }
  const userdb = settings.get('userdb')?.[0];
  if (userdb !== TURN_USERDB) {
    throw new HostError(
      'plan',
      `${host}: ${TURNSERVER_CONF} has ${userdb ? `userdb=${userdb}` : 'no userdb= line'}; rpctl manages TURN users in ${TURN_USERDB}, the appliance's own`,
    );
  }
  if (settings.has('use-auth-secret')) {
    throw new HostError(
      'plan',
      `${host}: the TURN server uses a shared secret (use-auth-secret in ${TURNSERVER_CONF}), not usernames and passwords`,
    );
  }
  return realm;
}

function plan(desired: TurnCredentialsDesired, facts: HostFacts, ctx: PlanContext): PlanResult {
  const realm = applianceRealm(desired, facts, ctx.host);
  const db = parseUserDb(facts.command(USERDB_FACT), ctx.host);
  const wanted = { name: desired.username, realm };
  const current = db.users.find((u) => u.name === wanted.name && u.realm === realm);
  const key = turnKey(desired.username, realm, desired.password);
  const warnings: string[] = [];
  if (db.reader === 'turnadmin') {
    warnings.push(
      `the appliance has neither sqlite3 nor python3, so the stored keys cannot be read: the password is set on every apply`,
    );
  }
  const setPassword = current?.key !== key;
  const others = desired.exclusive ? db.users.filter((u) => u !== current) : [];
  if (!setPassword && others.length === 0) return { changes: [], warnings };

  const steps: RemoteStep[] = [];
  const lines: string[] = [];
  if (setPassword) {
    const what = current ? 'set the password of' : 'add';
    steps.push({
      summary: `${what} TURN user ${userLabel(wanted)}`,
      command: sh`turnadmin -k -a -b ${TURN_USERDB} -u ${desired.username} -r ${realm} -p "$(cat ${uploadedFile(PASSWORD_UPLOAD)})"`,
      secretFiles: { [PASSWORD_UPLOAD]: desired.password },
      touches: [TURN_USERDB],
    });
    lines.push(
      current
        ? `~ ${userLabel(wanted)}: new password (${describeSecretRef(desired.passwordRef)})`
        : `+ ${userLabel(wanted)}: password ${describeSecretRef(desired.passwordRef)}`,
    );
    warnings.push(`after this change, ${INFINITY_REMINDER}`);
  }
  for (const user of others) {
    steps.push({
      summary: `remove TURN user ${userLabel(user)}`,
      command: sh`turnadmin -d -b ${TURN_USERDB} -u ${user.name} -r ${user.realm}`,
      touches: [TURN_USERDB],
    });
    lines.push(`- ${userLabel(user)}`);
  }
  const addresses = describeTurnAddresses(turnAddresses(facts.text(TURNSERVER_CONF)));
  return {
    changes: [
      {
        summary: steps.map((s) => s.summary).join(', '),
        steps,
        display: `${TURN_USERDB} (no restart):\n${lines.map((l) => `  ${l}`).join('\n')}\nTURN server: ${addresses}\n`,
      },
    ],
    warnings,
  };
}

function verify(desired: TurnCredentialsDesired, after: HostFacts, ctx: PlanContext): Check[] {
  let realm: string;
  let db: TurnUserDb;
  try {
    realm = applianceRealm(desired, after, ctx.host);
    db = parseUserDb(after.command(USERDB_FACT), ctx.host);
  } catch (err) {
    if (!(err instanceof HostError)) throw err;
    return [{ kind: 'assert', ok: false, message: err.message }];
  }
  const label = userLabel({ name: desired.username, realm });
  const stored = db.users.find((u) => u.name === desired.username && u.realm === realm);
  const checks: Check[] = [];
  if (db.reader !== 'turnadmin') {
    checks.push({
      kind: 'assert',
      ok: stored?.key === turnKey(desired.username, realm, desired.password),
      message: stored
        ? `${TURN_USERDB} holds the new key of ${label}`
        : `${TURN_USERDB} has no user ${label}`,
    });
  }
  if (desired.exclusive) {
    const others = db.users.filter((u) => u !== stored).map(userLabel);
    checks.push({
      kind: 'assert',
      ok: others.length === 0,
      message: others.length
        ? `other TURN users remain: ${others.join(', ')}`
        : `${label} is the only TURN user`,
    });
  }
  const port = turnAddresses(after.text(TURNSERVER_CONF)).listeningPort;
  const probe = { port, username: desired.username, password: desired.passwordRef, realm };
  checks.push(
    TURN_ALLOCATE_PROBE.check(
      { ...probe, expect: { outcome: 'success' } },
      `TURN allocation as ${label} gets a relayed address`,
    ),
    TURN_ALLOCATE_PROBE.check(
      { ...probe, wrongPassword: true, expect: { outcome: 'unauthorized' } },
      `TURN allocation as ${desired.username} with a wrong password is refused (401)`,
    ),
  );
  return checks;
}

/** Validated credentials of the `turn` section, with the password's value. */
export function turnCredentialsOf(
  turn: TurnSection | undefined,
  host: string,
  secret: (ref: SecretRef) => string,
): TurnCredentialsDesired | undefined {
  const credentials = turn?.credentials;
  if (credentials === undefined) return undefined;
  const problem =
    turnUsernameProblem(credentials.username) ?? turnPasswordProblem(secret(credentials.password));
  if (problem) throw new InputError(`${host}: turn.credentials: ${problem}`);
  return {
    username: credentials.username,
    password: secret(credentials.password),
    passwordRef: credentials.password,
    ...(credentials.realm === undefined ? {} : { realm: credentials.realm }),
    exclusive: credentials.exclusive === true,
  };
}

export const turnCredentialsRecipe = defineRecipe({
  name: 'turn-credentials',
  description:
    'the TURN username and password in /etc/turnuserdb.conf (turnadmin; no restart, calls survive)',
  section: turnInventorySection,
  desired: (section, ctx) => turnCredentialsOf(section, ctx.appliance.name, ctx.secret),
  facts: { files: [{ path: TURNSERVER_CONF }], commands: [{ id: USERDB_FACT, command: readUserDb }] },
  plan,
  verify,
});
