/**
 * `rpctl fail2ban status`: what fail2ban is doing on each appliance, read in the facts exec (one
 * per host, read-only) from `fail2ban-client status pexiprp`, the guide's monitoring command.
 *
 *   HOST   ENABLED  RUNNING  FAILED  TOTAL FAILED  BANNED  TOTAL BANNED  BANNED ADDRESSES
 *   lab-1  yes      yes      0       4             1       1             198.51.100.23
 *   lab-2  no       no       -       -             -       -             -
 *
 * fail2ban 0.8/0.9 and 0.10+ label the lines differently ("IP list" / "Banned IP list", "filter" /
 * "Filter"); the parser reads the labels, not the layout.
 */
import { HostError, type HostFacts, oneLine, type Recipe, sh } from '../../src/engine/contract.js';
import { bootStateOf, fail2banStateFact, JAIL, STATE } from './facts.js';

const JAIL_STATUS = 'fail2ban.jail-status';

export interface JailCounts {
  currentlyFailed: number;
  totalFailed: number;
  currentlyBanned: number;
  totalBanned: number;
  bannedAddresses: string[];
}

export interface Fail2banHostStatus extends Partial<JailCounts> {
  name: string;
  /** started at boot (S links in every runlevel 2-5) */
  enabled: boolean;
  running: boolean;
}

/** The client could not reach a server: 0.8/0.9 say "Unable to contact server", 0.10+ "Failed to access socket path". */
const NOT_RUNNING = /Unable to contact server|Failed to access socket path|Is (it|fail2ban) running\?/;

/** Parse `fail2ban-client status pexiprp`: counts, or `not-running`. Throws for anything else. */
export function parseJailStatus(output: string, code: number): JailCounts | 'not-running' {
  if (code !== 0) {
    if (NOT_RUNNING.test(output)) return 'not-running';
    const line = output.split('\n').find((l) => /error|sorry/i.test(l)) ?? output.split('\n')[0] ?? '';
    throw new Error(
      `fail2ban-client status ${JAIL} failed (exit ${code}): ${line.replace(/^.*?(ERROR|Sorry)/, '$1').trim()}`,
    );
  }
  const field = (label: RegExp): string | undefined => {
    for (const line of output.split('\n')) {
      const match = new RegExp(`^[\\s|\`-]*${label.source}:\\s*(.*)$`, 'i').exec(line);
      if (match) return match[1]!.trim();
    }
    return undefined;
  };
  const count = (label: string): number => {
    const value = field(new RegExp(label));
    if (value === undefined || !/^\d+$/.test(value)) {
      throw new Error(`cannot read "${label}" in the output of fail2ban-client status ${JAIL}`);
    }
    return Number(value);
  };
  return {
    currentlyFailed: count('Currently failed'),
    totalFailed: count('Total failed'),
    currentlyBanned: count('Currently banned'),
    totalBanned: count('Total banned'),
    bannedAddresses: (field(/(?:Banned )?IP list/) ?? '').split(/\s+/).filter(Boolean),
  };
}

/** A facts-only "recipe": it manages nothing, it only asks for the status. */
export const fail2banStatusProbe: Recipe<never> = {
  name: 'fail2ban-status',
  description: 'what fail2ban is doing (read-only)',
  section: 'fail2ban',
  desired: () => undefined,
  facts: { commands: [fail2banStateFact, { id: JAIL_STATUS, command: sh`fail2ban-client status ${JAIL}` }] },
  plan: () => ({ changes: [] }),
};

export function fail2banHostStatus(facts: HostFacts, name: string): Fail2banHostStatus {
  const status = facts.command(JAIL_STATUS);
  const state = facts.command(STATE);
  if (status === undefined || state === undefined)
    throw new HostError('facts', `${name}: the fail2ban status was not gathered`);
  const enabled = bootStateOf(state.output) === 'enabled';
  let counts: ReturnType<typeof parseJailStatus>;
  try {
    counts = parseJailStatus(status.output, status.code);
  } catch (err) {
    throw new HostError('facts', `${name}: ${oneLine(err)}`);
  }
  return counts === 'not-running'
    ? { name, enabled, running: false }
    : { name, enabled, running: true, ...counts };
}

type Row = Fail2banHostStatus | { name: string; status: string; error: string };

const COLUMNS = [
  'HOST',
  'ENABLED',
  'RUNNING',
  'FAILED',
  'TOTAL FAILED',
  'BANNED',
  'TOTAL BANNED',
  'BANNED ADDRESSES',
];

function cells(row: Row): string[] {
  if ('error' in row) return [row.name, '?', '?', '-', '-', '-', '-', '-'];
  const n = (v: number | undefined) => (v === undefined ? '-' : String(v));
  return [
    row.name,
    row.enabled ? 'yes' : 'no',
    row.running ? 'yes' : 'no',
    n(row.currentlyFailed),
    n(row.totalFailed),
    n(row.currentlyBanned),
    n(row.totalBanned),
    row.bannedAddresses?.join(' ') || '-',
  ];
}

export function renderStatusText(rows: readonly Row[]): string {
  const table = [COLUMNS, ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const lines = table.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
  const errors = rows.flatMap((r) =>
    'error' in r ? [`${r.name}: ${r.status.toUpperCase()}: ${r.error}`] : [],
  );
  return `${[...lines, ...errors].join('\n')}\n`;
}

export function statusRows(
  hosts: readonly { name: string; status: string; facts?: HostFacts; error?: { message: string } }[],
): Row[] {
  return hosts.map((host) => {
    if (!host.facts)
      return { name: host.name, status: host.status, error: host.error?.message ?? host.status };
    try {
      return fail2banHostStatus(host.facts, host.name);
    } catch (err) {
      return { name: host.name, status: 'failed', error: oneLine(err) };
    }
  });
}
