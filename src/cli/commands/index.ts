/** Every command group of the CLI, in the order `rpctl --help` lists them. */
import type { CommandModule } from '../program.js';
import { fail2banCommands } from './fail2ban.js';
import { inventoryCommands } from './inventory.js';
import { runCommands } from './run.js';

export const commandModules: CommandModule[] = [runCommands, fail2banCommands, inventoryCommands];
