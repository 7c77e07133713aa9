/** Every command group of the CLI, in the order `rpctl --help` lists them. */

import { runInstall } from '../install-run.js';
import { oneOffModule } from '../one-off.js';
import type { CommandModule } from '../program.js';
import { driftCommands } from './drift.js';
import { inventoryCommands } from './inventory.js';
import { runCommands } from './run.js';
import { schemaCommands } from './schema.js';

/** The concerns' one-off commands, through the one helper that owns their policy (src/cli/one-off.ts). */
const oneOffCommands: CommandModule = {
  register(program, ctx) {
    const { commandGroups = [], commands = [] } = ctx.registry;
    oneOffModule(commandGroups, commands, { install: runInstall }).register(program, ctx);
  },
};

export const commandModules: CommandModule[] = [
  runCommands,
  driftCommands,
  oneOffCommands,
  inventoryCommands,
  schemaCommands,
];
