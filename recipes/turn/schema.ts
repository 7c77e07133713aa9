/**
 * The `turn` inventory section, read by two recipes: turn-credentials (the long-term user in
 * /etc/turnuserdb.conf) and turn-nat (the `external-ip=` line of /etc/turnserver.conf).
 *
 *   turn:
 *     credentials:
 *       username: pexip
 *       password: file:secrets/turn-password   # a reference, never the password itself
 *       realm: example.com                     # optional: must equal realm= of turnserver.conf
 *       exclusive: true                        # optional: remove every other TURN user
 *     externalIp: 203.0.113.10                 # null: no external-ip line; absent: not managed
 *
 * The problem functions are shared with the one-off commands, whose flags take the same values.
 */
import { z } from 'zod';
import { defineSection, secret } from '../../src/engine/contract.js';
import { ipAddress, isIpAddress, showValue } from '../../src/inventory/types.js';

/** Pexip Infinity holds the same credentials: every change needs this (the guide says so too). */
export const INFINITY_REMINDER =
  'update the TURN server entry in Pexip Infinity (Call Control > TURN Servers) with the new credentials';

/** rfc5766-turn-server (v4) keeps at most 127 bytes of a password, realm or name it compares. */
export const TURN_TEXT_MAX = 127;
const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9._@+-]*$/;
// Control characters would not survive `$(cat file)` (trailing newlines) nor a terminal.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function turnUsernameProblem(name: string): string | undefined {
  if (name === '') return 'the TURN username must not be empty';
  if (name.includes(':'))
    return `${showValue(name)}: a TURN username must not contain ":" (the key is MD5 of user:realm:password)`;
  if (name.length > TURN_TEXT_MAX)
    return `${showValue(name)}: a TURN username is at most ${TURN_TEXT_MAX} characters`;
  if (!USERNAME.test(name))
    return `${showValue(name)} is not a valid TURN username: letters, digits and . _ @ + -, starting with a letter, digit or _`;
  return undefined;
}

/** Why a password cannot be set (never quoting the password). */
export function turnPasswordProblem(password: string): string | undefined {
  if (password === '') return 'the TURN password must not be empty';
  if (CONTROL.test(password)) return 'the TURN password must not contain control characters or newlines';
  if (Buffer.byteLength(password, 'utf8') > TURN_TEXT_MAX)
    return `the TURN password is longer than ${TURN_TEXT_MAX} bytes, which the v4 TURN server cuts short`;
  return undefined;
}

export function externalIpProblem(value: string): string | undefined {
  return isIpAddress(value) ? undefined : `${showValue(value)} is not an IPv4 or IPv6 address`;
}

const withProblem = (problem: (s: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const reason = problem(value);
    if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
  });

const turnUsername = withProblem(turnUsernameProblem).meta({
  description: 'TURN username (letters, digits and . _ @ + -; no ":")',
});

const turnRealm = withProblem((realm) =>
  realm === '' || CONTROL.test(realm) || realm.length > TURN_TEXT_MAX
    ? `${showValue(realm)} is not a TURN realm (the deployment's domain, e.g. example.com)`
    : undefined,
).meta({
  description:
    "expected realm: must equal realm= in /etc/turnserver.conf (the deployment's domain); a mismatch fails the host, rpctl never changes the realm",
});

const credentials = z
  .strictObject({
    username: turnUsername,
    password: secret.meta({
      description:
        'the TURN password (secret reference: env:NAME, file:PATH or prompt); Pexip Infinity must use the same',
    }),
    realm: turnRealm.optional(),
    exclusive: z.boolean().optional().meta({
      description: 'true: remove every other TURN user of /etc/turnuserdb.conf (default false)',
    }),
  })
  .meta({
    description:
      'the long-term TURN user in /etc/turnuserdb.conf (set with turnadmin; no restart, calls survive)',
  });

export const turnSection = z
  .strictObject({
    credentials: credentials.optional(),
    externalIp: z.union([ipAddress, z.null()]).optional().meta({
      description:
        'public NAT address: the single external-ip= line of /etc/turnserver.conf; null removes it, absent leaves it alone. Changing it restarts TURN (disruptive)',
    }),
  })
  .meta({ description: 'the TURN server: credentials (turn-credentials) and NAT external-ip (turn-nat)' });

/** The section as loaded: `credentials.password` is a reference, resolved before any host is contacted. */
export type TurnSection = z.output<typeof turnSection>;

export const turnInventorySection = defineSection({
  key: 'turn',
  description: 'the TURN server: credentials (turn-credentials) and NAT external-ip (turn-nat)',
  schema: turnSection,
});
