/**
 * `rpctl upstream list|add|remove`: one-off changes to the conferencing nodes of `upstream pexip`,
 * planned against each appliance's current block, with the same validation, graceful reload,
 * verification and rollback as `apply`. `--save` writes the result into the inventory so the next
 * drift check stays clean.
 */
import type { Command } from 'commander';
import { formatEndpoint } from '../../../recipes/upstreams/nginx-upstream.js';
import {
  currentNodes,
  parseNodeArgument,
  savedNodes,
  upstreamsEditRecipe,
} from '../../../recipes/upstreams/one-off.js';
import { upstreamsRecipe } from '../../../recipes/upstreams/recipe.js';
import type { FleetResult } from '../../engine/run.js';
import { oneLine } from '../../errors.js';
import { updateInventoryFile } from '../../inventory/save.js';
import { addInventoryOptions, type Selection } from '../common.js';
import { runFleetCommand } from '../fleet.js';
import type { CommandContext, CommandModule } from '../program.js';
import { addApplyFlags, addConnectionFlags, addOutputFlags, type RunFlags } from '../run-options.js';
import { reachedHosts } from '../save.js';

interface EditFlags extends RunFlags {
  save?: boolean;
}

async function saveResult(result: FleetResult, selection: Selection): Promise<string> {
  const edits = reachedHosts(result).flatMap((host) => {
    if (!host.facts) return [];
    const appliance = selection.appliances.find((a) => a.name === host.name);
    const inventoryNodes = (appliance?.sections.upstreams as { nodes?: never[] } | undefined)?.nodes;
    const value = savedNodes(inventoryNodes, currentNodes(host.facts, host.name));
    return [{ op: 'set' as const, path: ['appliances', host.name, 'upstreams', 'nodes'], value }];
  });
  if (edits.length === 0) return 'nothing saved: no appliance was changed\n';
  await updateInventoryFile(selection.inventory.file, edits);
  return `saved upstreams.nodes of ${edits.map((e) => e.path[1]).join(', ')} in ${selection.inventory.file}\n`;
}

function editCommand(program: Command, ctx: CommandContext, verb: 'add' | 'remove') {
  const command = program
    .command(verb)
    .description(`${verb} conferencing nodes in upstream pexip on the selected appliances`)
    .argument('<nodes...>', 'ADDRESS or ADDRESS:PORT (default port 443), IPv6 as [ADDRESS]:PORT')
    .option('--save', 'write the resulting nodes into the inventory (comments kept)');
  addOutputFlags(addConnectionFlags(addApplyFlags(addInventoryOptions(command))), ['text', 'json']);
  command.addHelpText(
    'after',
    `
Exit codes: 0 done, 1 a host failed (its file restored), 3 invalid input (nothing contacted).

Examples:
  rpctl upstream ${verb} -i inventories/prod.yaml --limit rp-lon-1,rp-lon-2 10.40.0.13 --serial 1
  rpctl upstream ${verb} -i inventories/prod.yaml --limit dc1 '[2001:db8::13]:443' --yes --save`,
  );
  command.action(async (args: string[], flags: EditFlags) => {
    const nodes = args.map(parseNodeArgument);
    const edit = verb === 'add' ? { add: nodes, remove: [] } : { add: [], remove: nodes };
    await runFleetCommand(ctx, {
      mode: 'apply',
      flags,
      formats: ['text', 'json'],
      recipes: [upstreamsEditRecipe(edit)],
      after: (result, selection) =>
        flags.save && result.confirmed ? saveResult(result, selection) : undefined,
    });
  });
}

export const upstreamCommands: CommandModule = {
  register(program, ctx) {
    const upstream = program
      .command('upstream')
      .description('list, add or remove the conferencing nodes nginx forwards to (one-off)');
    addOutputFlags(addConnectionFlags(addInventoryOptions(upstream.command('list'))), ['text', 'json'])
      .description('show the nodes of upstream pexip on each appliance, and whether they match the inventory')
      .addHelpText(
        'after',
        '\nExamples:\n  rpctl upstream list -i inventories/prod.yaml --limit dc1 --format json',
      )
      .action(async (flags: RunFlags) => {
        await runFleetCommand(ctx, {
          mode: 'facts',
          flags,
          formats: ['text', 'json'],
          recipes: [upstreamsRecipe],
          render: (format, result, selection) => {
            const rows = result.hosts.map((host) => {
              if (!host.facts) return { name: host.name, error: host.error?.message ?? host.status };
              try {
                const nodes = currentNodes(host.facts, host.name).map(formatEndpoint);
                const appliance = selection.appliances.find((a) => a.name === host.name)!;
                const wanted = upstreamsRecipe.desired({
                  appliance,
                  secret: (r) => selection.secrets.get(r),
                  now: new Date(),
                });
                const inventory = wanted
                  ? upstreamsRecipe.plan(wanted, host.facts, { host: host.name, now: new Date() }).changes
                      .length === 0
                    ? 'in sync'
                    : 'differs'
                  : 'not managed';
                return { name: host.name, nodes, inventory };
              } catch (err) {
                return { name: host.name, error: oneLine(err) };
              }
            });
            if (format === 'json') return `${JSON.stringify({ hosts: rows }, null, 2)}\n`;
            return rows
              .map((r) =>
                'error' in r
                  ? `${r.name}: ${r.error}\n`
                  : `${r.name}: ${r.nodes.join(', ')} (inventory: ${r.inventory})\n`,
              )
              .join('');
          },
        });
      });
    editCommand(upstream, ctx, 'add');
    editCommand(upstream, ctx, 'remove');
  },
};
