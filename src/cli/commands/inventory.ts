/**
 * `rpctl inventory validate | list | schema`: check an inventory, show what it selects, and print
 * the JSON Schema editors use (inventories/schema.json).
 */
import { type Command, Option } from 'commander';
import { ExitCode } from '../../errors.js';
import { selectAppliances } from '../../inventory/limit.js';
import { collectSecretUses } from '../../inventory/load.js';
import type { ApplianceConfig, Inventory } from '../../inventory/model.js';
import { InventoryError } from '../../inventory/problems.js';
import { buildJsonSchema } from '../../inventory/schema.js';
import { describeSecretRef, Secrets } from '../../inventory/secrets.js';
import { SCHEMA_VERSION } from '../../report/json.js';
import { addInventoryOptions, type InventoryOptions, inventoryFile, loadInventoryFor } from '../common.js';
import type { CommandContext, CommandModule } from '../program.js';

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

function sectionsUsed(appliances: readonly ApplianceConfig[]): string {
  const counts = new Map<string, number>();
  for (const appliance of appliances) {
    for (const key of Object.keys(appliance.sections)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) return 'none';
  return [...counts].map(([key, count]) => `${key} (${count})`).join(', ');
}

async function validate(ctx: CommandContext, options: InventoryOptions & { checkSecrets?: boolean }) {
  const file = inventoryFile(ctx, options);
  let inventory: Inventory;
  try {
    inventory = await loadInventoryFor(ctx, options);
  } catch (err) {
    if (!(err instanceof InventoryError)) throw err;
    err.problems.forEach((problem, i) => {
      const excerpt = err.excerpts[i];
      ctx.io.stderr.write(excerpt ? `${problem}\n${excerpt}\n` : `${problem}\n`);
    });
    ctx.io.stderr.write(`rpctl: ${file}: ${plural(err.problems.length, 'problem')}\n`);
    ctx.exitWith(ExitCode.invalid);
    return;
  }
  let secretsNote = '';
  if (options.checkSecrets) {
    // env: and file: only: a check must not stop to ask for passwords
    const uses = collectSecretUses(inventory.appliances).filter((use) => use.ref.kind !== 'prompt');
    await new Secrets(ctx.io).resolve(uses);
    const distinct = new Set(uses.map((use) => describeSecretRef(use.ref)));
    secretsNote = `, ${plural(distinct.size, 'secret')} resolved`;
  }
  ctx.io.stdout.write(
    `${file}: valid; ${plural(inventory.appliances.length, 'appliance')}, ${plural(inventory.groups.size, 'group')}; ` +
      `sections: ${sectionsUsed(inventory.appliances)}${secretsNote}\n`,
  );
}

function listRows(appliances: readonly ApplianceConfig[]) {
  return appliances.map((appliance) => ({
    name: appliance.name,
    host: appliance.ssh.host,
    groups: appliance.groups,
    sections: Object.keys(appliance.sections),
  }));
}

async function list(ctx: CommandContext, options: InventoryOptions & { format: 'text' | 'json' }) {
  const inventory = await loadInventoryFor(ctx, options);
  const rows = listRows(selectAppliances(inventory, options.limit));
  if (options.format === 'json') {
    ctx.io.stdout.write(`${JSON.stringify({ schemaVersion: SCHEMA_VERSION, appliances: rows }, null, 2)}\n`);
    return;
  }
  const table = [
    ['NAME', 'HOST', 'GROUPS', 'SECTIONS'],
    ...rows.map((row) => [row.name, row.host, row.groups.join(',') || '-', row.sections.join(',') || '-']),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  for (const cells of table) {
    ctx.io.stdout.write(
      `${cells
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
}

export const inventoryCommands: CommandModule = {
  register(program: Command, ctx: CommandContext) {
    const inventory = program
      .command('inventory')
      .description('check an inventory file, list its appliances, print its JSON Schema');
    inventory.addHelpText(
      'after',
      `
The inventory is a YAML file (see inventories/example.yaml); -i defaults to $RPCTL_INVENTORY.

Examples:
  rpctl inventory validate -i inventories/prod.yaml
  rpctl inventory list -i inventories/prod.yaml --limit 'proxies,!rp-test*'
  rpctl inventory schema > inventories/schema.json`,
    );

    addInventoryOptions(inventory.command('validate'), { limit: false })
      .description('check an inventory: YAML, every field, group references; nothing is contacted')
      .option('--check-secrets', 'also read the env: and file: secrets it references (prompts are not asked)')
      .addHelpText(
        'after',
        `
Prints a one-line summary and exits 0, or prints every problem as FILE:LINE:COL: path: message
and exits 3.

Examples:
  rpctl inventory validate -i inventories/prod.yaml
  RPCTL_INVENTORY=inventories/prod.yaml rpctl inventory validate --check-secrets`,
      )
      .action((options) => validate(ctx, options));

    addInventoryOptions(inventory.command('list'))
      .description('list the appliances (name, host, groups, managed sections) --limit selects')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
      .addHelpText(
        'after',
        `
Examples:
  rpctl inventory list -i inventories/prod.yaml
  rpctl inventory list -i inventories/prod.yaml --limit 'rp-*,!rp-test*' --format json`,
      )
      .action((options) => list(ctx, options));

    inventory
      .command('schema')
      .description('print the JSON Schema of inventory files (core fields and every recipe section)')
      .addHelpText(
        'after',
        `
Editors with the YAML language server validate and complete an inventory that starts with
  # yaml-language-server: $schema=./schema.json

Examples:
  rpctl inventory schema > inventories/schema.json
  npm run schema        (regenerates inventories/schema.json from the sources)`,
      )
      .action(() => {
        ctx.io.stdout.write(`${JSON.stringify(buildJsonSchema(ctx.registry.sections), null, 2)}\n`);
      });
  },
};
