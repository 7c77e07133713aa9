/** Every command group of the CLI, in the order `rpctl --help` lists them. */
import type { CommandModule } from '../program.js';
import { certCommands } from './cert.js';
import { inventoryCommands } from './inventory.js';
import { runCommands } from './run.js';

export const commandModules: CommandModule[] = [runCommands, certCommands, inventoryCommands];
