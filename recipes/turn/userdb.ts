/**
 * The TURN user database, /etc/turnuserdb.conf: coturn's SQLite file, table turnusers_lt
 * (realm, name, hmackey) where hmackey is the hex MD5 of `name:realm:password`.
 *
 * Read as a fact without side effects, by the first reader the appliance has:
 *   sqlite3 -readonly       the command-line shell
 *   python3                 its sqlite3 module, opened read-only (mode=ro)
 *   turnadmin -l            names and realms only, no keys; it leaves a log file in /var/log,
 *                           which is removed (the one named after its own PID)
 * Realms and names travel hex-encoded, so no name can forge a line of the output.
 *
 * The keys are as good as passwords against this TURN server: they are compared, never shown.
 */

import { type CommandFact, HostError, sh } from '../../src/engine/contract.js';
import { TURN_USERDB } from '../appliance/paths.js';

export { TURN_USERDB };
export const USERDB_FACT = 'turn.userdb';

export type UserDbReader = 'sqlite3' | 'python3' | 'turnadmin';

export interface TurnUser {
  realm: string;
  name: string;
  /** lower-case hex; undefined when the reader cannot see keys (turnadmin -l) */
  key?: string;
}

export interface TurnUserDb {
  /** 'absent' when the file does not exist yet (turnadmin -a creates it) */
  reader: UserDbReader | 'absent';
  users: TurnUser[];
}

const QUERY = "select hex(realm), hex(name), coalesce(hmackey, '') from turnusers_lt";
const PYTHON = `import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for row in db.execute(sys.argv[2]): print(" ".join(row))`;

/**
 * The facts command. A reader that is installed but fails is reported (exit 1) rather than
 * skipped: its error says more than the next reader's would.
 */
export const readUserDb = sh`db=${TURN_USERDB}; q=${QUERY}
if [ ! -e "$db" ]; then echo '@userdb absent'
elif command -v sqlite3 >/dev/null 2>&1 && rows=$(sqlite3 -readonly -separator ' ' "$db" "$q" 2>&1); then printf '@userdb sqlite3\\n%s\\n' "$rows"
elif command -v python3 >/dev/null 2>&1 && rows=$(python3 -c ${PYTHON} "$db" "$q" 2>&1); then printf '@userdb python3\\n%s\\n' "$rows"
elif command -v sqlite3 >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1; then printf '@userdb failed\\n%s\\n' "$rows"; exit 1
elif command -v turnadmin >/dev/null 2>&1; then echo '@userdb turnadmin'; turnadmin -l -b "$db" 2>/dev/null & pid=$!; wait "$pid"; rm -f "/var/log/turn_\${pid}_"*.log
else echo '@userdb none'; exit 1
fi`;

const fromHex = (hex: string) => Buffer.from(hex, 'hex').toString('utf8');

function lastLine(output: string): string {
  return (
    output
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? '(no output)'
  );
}

/** Parse the facts command's output; a database rpctl cannot read fails the host. */
export function parseUserDb(fact: CommandFact | undefined, host: string): TurnUserDb {
  if (fact === undefined) throw new HostError('facts', `${host}: the TURN users were not gathered`);
  const [header = '', ...rows] = fact.output.split('\n');
  const reader = /^@userdb (\S+)$/.exec(header)?.[1];
  if (fact.code !== 0 || reader === undefined || reader === 'failed' || reader === 'none') {
    const why =
      reader === 'none'
        ? 'the appliance has none of sqlite3, python3 or turnadmin'
        : lastLine(rows.join('\n') || fact.output);
    throw new HostError('facts', `${host}: cannot read the TURN users in ${TURN_USERDB}: ${why}`);
  }
  if (reader === 'absent') return { reader, users: [] };
  if (reader === 'turnadmin') {
    // `name[realm]` per user; turnadmin's own chatter does not have that shape
    const users = rows.flatMap((line) => {
      const match = /^(.+)\[(.*)\]$/.exec(line.trim());
      return match ? [{ name: match[1]!, realm: match[2]! }] : [];
    });
    return { reader, users };
  }
  const users = rows.flatMap((line): TurnUser[] => {
    if (line.trim() === '') return [];
    const fields = line.split(' ');
    const [realm, name, key] = fields;
    if (fields.length !== 3 || !/^[0-9A-F]*$/.test(realm!) || !/^[0-9A-F]+$/.test(name!)) {
      throw new HostError('facts', `${host}: unexpected line in the TURN users of ${TURN_USERDB}`);
    }
    return [{ realm: fromHex(realm!), name: fromHex(name!), key: key!.toLowerCase() }];
  });
  return { reader: reader as UserDbReader, users };
}

export const userLabel = (user: { name: string; realm: string }) => `${user.name}@${user.realm}`;
