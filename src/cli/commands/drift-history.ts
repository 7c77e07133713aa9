/**
 * `rpctl drift history`: per fleet, host and recipe, the timeline of drift checks and applies
 * (report/history.ts): the current state, since when, when last in sync, and the earlier spans.
 */

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { badFlagValue, InputError } from '../../errors.js';
import { DURATION_RULE, parseDuration } from '../../inventory/duration.js';
import { selectAppliances } from '../../inventory/limit.js';
import { History, type HistoryEntry, legacyHistoryFile, timeline } from '../../report/history.js';
import { historyText } from '../../report/history-view.js';
import { writeFileAtomic } from '../../report/records.js';
import { addInventoryOptions, INVENTORY_ENV, type InventoryOptions, loadInventoryFor } from '../common.js';
import type { CommandContext } from '../program.js';

interface HistoryFlags extends InventoryOptions {
  format: string;
  output?: string;
  since?: string;
}

export function registerDriftHistory(drift: Command, ctx: CommandContext): void {
  addInventoryOptions(drift.command('history'))
    .description('since when each appliance and recipe has drifted, and when it was last in sync')
    .option('--since <duration>', `only what was seen in this window (${DURATION_RULE})`)
    .option('--format <format>', 'text or json', 'text')
    .option('--output <file>', 'write to FILE instead of standard output')
    .addHelpText(
      'after',
      `
History is kept per fleet (the inventory's fleet: name, else its path) in the state directory
(--state-dir, $RPCTL_STATE_DIR, else ~/.local/state/rpctl), for the inventory's history.keep
(default 90d). Without an inventory, every fleet's history is shown. On a terminal times are
relative ("3 h ago"); otherwise ISO 8601.

Examples:
  rpctl drift history -i inventories/prod.yaml --since 7d
  rpctl drift history -i inventories/prod.yaml --limit dc1 --format json
  RPCTL_STATE_DIR=/var/lib/rpctl rpctl drift history -i inventories/prod.yaml`,
    )
    .action(async (flags: HistoryFlags) => {
      if (!['text', 'json'].includes(flags.format))
        throw badFlagValue('--format', 'text or json', flags.format);
      const window = flags.since === undefined ? undefined : parseDuration(flags.since);
      if (flags.since !== undefined && window === undefined)
        throw badFlagValue('--since', DURATION_RULE, flags.since);
      const now = Date.now();
      let entries: HistoryEntry[];
      let hosts: Set<string> | undefined;
      if (flags.inventory ?? ctx.io.env[INVENTORY_ENV]) {
        const inventory = await loadInventoryFor(ctx, flags);
        hosts = new Set(selectAppliances(inventory, flags.limit).map((a) => a.name));
        entries = new History(ctx.io.env, inventory.fleet).read();
      } else if (flags.limit) {
        throw new InputError('--limit needs the inventory (-i) to know the groups');
      } else {
        entries = History.readAll(ctx.io.env);
      }
      if (existsSync(legacyHistoryFile(ctx.io.env))) {
        ctx.io.stderr.write(
          `rpctl: note: ${legacyHistoryFile(ctx.io.env)} is the history of an older rpctl, kept by host name alone (inventories mixed); it is not shown: delete it when you no longer need it\n`,
        );
      }
      const spans = timeline(entries, { hosts, since: window === undefined ? undefined : now - window });
      const text =
        flags.format === 'json'
          ? `${JSON.stringify({ spans: spans.filter((s) => s.until === undefined), timeline: spans }, null, 2)}\n`
          : historyText(spans, {
              relative: !flags.output && Boolean(ctx.io.stdout.isTTY),
              now,
              fleets: new Set(spans.map((s) => s.fleet)).size > 1,
            });
      if (flags.output) writeFileAtomic(flags.output, text, 0o644);
      else ctx.io.stdout.write(text);
    });
}
