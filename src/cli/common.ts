/**
 * What most commands share: the `-i/--inventory` and `--limit` options, and one call that loads
 * the inventory, selects the appliances and resolves their secrets before any host is contacted.
 *
 *   addInventoryOptions(program.command('plan'))
 *     .action(async (opts: InventoryOptions) => {
 *       const { appliances, secrets, redactor } = await loadSelection(ctx, opts);
 *       ...
 *     });
 */

import type { Command } from 'commander';
import { Redactor } from '../engine/redact.js';
import { InputError } from '../errors.js';
import { checkKeyModes } from '../inventory/file-modes.js';
import { selectAppliances } from '../inventory/limit.js';
import { collectSecretUses, loadInventory } from '../inventory/load.js';
import type { ApplianceConfig, Inventory } from '../inventory/model.js';
import { Secrets } from '../inventory/secrets.js';
import { checkIdentityFiles } from './local-checks.js';
import type { CommandContext } from './program.js';

export interface InventoryOptions {
  inventory?: string;
  limit?: string;
}

export const INVENTORY_ENV = 'RPCTL_INVENTORY';

export function addInventoryOptions(command: Command, options: { limit?: boolean } = {}): Command {
  command.option('-i, --inventory <file>', `inventory file (default: $${INVENTORY_ENV})`);
  if (options.limit ?? true) {
    command.option(
      '--limit <patterns>',
      "appliances to act on: names, group names, globs (* ? [abc]), comma-separated; !pattern excludes (e.g. 'proxies,!rp-test*')",
    );
  }
  return command;
}

/** The inventory file from -i or $RPCTL_INVENTORY, as the user wrote it (relative to the working directory). */
export function inventoryFile(ctx: CommandContext, options: InventoryOptions): string {
  const file = options.inventory ?? ctx.io.env[INVENTORY_ENV];
  if (!file) throw new InputError(`no inventory: pass -i FILE or set ${INVENTORY_ENV}`);
  return file;
}

export function loadInventoryFor(ctx: CommandContext, options: InventoryOptions): Promise<Inventory> {
  return loadInventory(inventoryFile(ctx, options), { sections: ctx.registry.sections, io: ctx.io });
}

export interface Selection {
  inventory: Inventory;
  /** the appliances --limit selects, in inventory order */
  appliances: ApplianceConfig[];
  /** the secrets of the selected appliances, resolved */
  secrets: Secrets;
  /** knows every resolved secret; pass everything printed or recorded through it */
  redactor: Redactor;
}

/**
 * Load, select, run a one-off's `check` and `override`, and resolve the selected appliances' secrets (asking
 * on the terminal for `prompt`).
 * Every input problem surfaces here as an InputError, before any host is contacted.
 */
export async function loadSelection(
  ctx: CommandContext,
  options: InventoryOptions,
  override?: (appliance: ApplianceConfig, inventory: Inventory) => ApplianceConfig,
  check?: (inventory: Inventory, selected: readonly ApplianceConfig[]) => void | Promise<void>,
): Promise<Selection> {
  const inventory = await loadInventoryFor(ctx, options);
  const selected = selectAppliances(inventory, options.limit);
  await check?.(inventory, selected); // e.g. where --save will write: refused before any secret is read
  // before resolving: a one-off's own secrets (a --password-file) are resolved with the others
  const appliances = override ? selected.map((a) => override(a, inventory)) : selected;
  checkIdentityFiles(appliances);
  if (inventory.strictModes) checkKeyModes(appliances);
  const secrets = new Secrets(ctx.io, { strictModes: inventory.strictModes });
  await secrets.resolve(collectSecretUses(appliances));
  const redactor = new Redactor();
  redactor.addAll(secrets.resolvedValues());
  return { inventory, appliances, secrets, redactor };
}

/**
 * The SSH log options of a run: with -v each host's resolved settings and connection on stderr,
 * with -vv ssh2's protocol lines too; every line through the redactor.
 */
export function sshLogging(
  ctx: CommandContext,
  redactor: Redactor,
): { log?(line: string): void; debug?(line: string): void } {
  const say = (line: string) => ctx.io.stderr.write(redactor.redact(`rpctl: ${line}\n`));
  return {
    ...(ctx.verbosity >= 1 ? { log: say } : {}),
    ...(ctx.verbosity >= 2 ? { debug: (line: string) => say(`debug: ${line}`) } : {}),
  };
}
