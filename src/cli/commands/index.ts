/** Every command group of the CLI, in the order `rpctl --help` lists them. */
import type { CommandModule } from '../program.js';
import { inventoryCommands } from './inventory.js';
import { runCommands } from './run.js';
import { turnCommands } from './turn.js';

export const commandModules: CommandModule[] = [runCommands, turnCommands, inventoryCommands];
