/**
 * `rpctl plan`, `rpctl apply`, `rpctl facts`: converge appliances to the inventory, show what that
 * would change, or print what was gathered.
 */
import type { Command } from 'commander';
import { addInventoryOptions } from '../common.js';
import { runFleetCommand } from '../fleet.js';
import type { CommandContext, CommandModule } from '../program.js';
import {
  addApplyFlags,
  addConnectionFlags,
  addDiffFlags,
  addOutputFlags,
  addRecipeFlag,
  type RunFlags,
} from '../run-options.js';

const common = (command: Command, ctx: CommandContext, formats: readonly string[]) =>
  addOutputFlags(
    addConnectionFlags(addRecipeFlag(addInventoryOptions(command), ctx.registry.recipes)),
    formats,
  );

export const runCommands: CommandModule = {
  register(program, ctx) {
    addDiffFlags(common(program.command('plan'), ctx, ['text', 'json']))
      .description('show what apply would change on each appliance, with diffs; read-only')
      .option('--allow-disruptive', 'plan disruptive changes as applicable instead of deferred')
      .addHelpText(
        'after',
        `
Exit codes: 0 in sync, 2 changes pending, 1 a host failed or was unreachable, 3 invalid input.

Examples:
  rpctl plan -i inventories/prod.yaml
  rpctl plan -i inventories/prod.yaml --limit dc1 --recipes upstreams
  rpctl plan -i inventories/prod.yaml --no-diff       # one line per change, hosts grouped
  rpctl plan -i inventories/prod.yaml --format json | jq '.hosts[] | select(.status=="drift")'`,
      )
      .action(async (flags: RunFlags) => {
        await runFleetCommand(ctx, { mode: 'plan', flags, formats: ['text', 'json'] });
      });

    addApplyFlags(addDiffFlags(common(program.command('apply'), ctx, ['text', 'json'])))
      .description('converge the selected appliances to the inventory (shows the plan and asks first)')
      .addHelpText(
        'after',
        `
Each appliance: facts under its lock, upload, backups, atomic install, validation (restore and no
reload when it fails), each handler once, verification (rolled back when it fails).

A connection that drops during the apply: the apply finishes on the appliance; rpctl reconnects
once and reports its outcome, or the host as "unknown" when it cannot be read back.

Exit codes: 0 done, 2 changes deferred (disruptive, without --allow-disruptive) or not applied,
1 a host failed, was unreachable or its outcome is unknown, 3 invalid input (also: no terminal
and no --yes).

Examples:
  rpctl apply -i inventories/prod.yaml
  rpctl apply -i inventories/prod.yaml --yes --serial 1 --max-fail 0
  rpctl apply -i inventories/prod.yaml --limit rp-lon-1 --allow-disruptive   # in a maintenance window`,
      )
      .action(async (flags: RunFlags) => {
        await runFleetCommand(ctx, { mode: 'apply', flags, formats: ['text', 'json'] });
      });

    addConnectionFlags(addInventoryOptions(program.command('facts')))
      .description('gather and print each appliance’s facts as JSON (generation, identity, files, services)')
      .option('--output <file>', 'write the JSON to FILE instead of standard output')
      .addHelpText(
        'after',
        `
Reads everything in one exec per host; prints a JSON document. Exit 1 if a host failed.

Examples:
  rpctl facts -i inventories/prod.yaml --limit rp-lon-1
  rpctl facts -i inventories/prod.yaml | jq '.hosts[] | {name, generation: .appliance.generation}'`,
      )
      .action(async (flags: RunFlags) => {
        await runFleetCommand(ctx, {
          mode: 'facts',
          flags: { ...flags, format: 'json' },
          formats: ['json'],
          render: (_format, result) => {
            const hosts = result.hosts.map((h) => ({
              name: h.name,
              status: h.status === 'in-sync' ? 'ok' : h.status,
              ...(h.error ? { error: h.error.message } : {}),
              ...(h.facts ? { facts: ctx.registry.describeFacts?.(h.facts, h.name) ?? {} } : {}),
              ...(h.stats
                ? {
                    stats: {
                      connections: h.stats.connections,
                      execs: h.stats.execs,
                      handshakeMs: h.stats.handshakeMs,
                    },
                  }
                : {}),
            }));
            return `${JSON.stringify({ runId: result.runId, hosts }, null, 2)}\n`;
          },
        });
      });
  },
};
