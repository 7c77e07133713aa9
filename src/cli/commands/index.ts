/** Every command group of the CLI, in the order `rpctl --help` lists them. */
import type { CommandModule } from '../program.js';
import { certCommands } from './cert.js';
import { driftCommands } from './drift.js';
import { fail2banCommands } from './fail2ban.js';
import { installCommands } from './install.js';
import { inventoryCommands } from './inventory.js';
import { nicCommands } from './nic.js';
import { runCommands } from './run.js';
import { turnCommands } from './turn.js';
import { upstreamCommands } from './upstream.js';

export const commandModules: CommandModule[] = [
  runCommands,
  driftCommands,
  upstreamCommands,
  certCommands,
  turnCommands,
  fail2banCommands,
  nicCommands,
  installCommands,
  inventoryCommands,
];
