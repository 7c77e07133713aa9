/** Every command group of the CLI, in the order `rpctl --help` lists them. */

import { runInstall } from '../install-run.js';
import { oneOffModule } from '../one-off.js';
import type { CommandModule } from '../program.js';
import { certCommands, certGroup } from './cert.js';
import { driftCommands } from './drift.js';
import { fail2banCommands, fail2banGroup } from './fail2ban.js';
import { install } from './install.js';
import { inventoryCommands } from './inventory.js';
import { nicCommands, nicGroup } from './nic.js';
import { runCommands } from './run.js';
import { turnCommands, turnGroup } from './turn.js';
import { upstreamCommands, upstreamGroup } from './upstream.js';

/** Every one-off command, through the one helper that owns their policy (src/cli/one-off.ts). */
const oneOffCommands = oneOffModule(
  [upstreamGroup, certGroup, turnGroup, fail2banGroup, nicGroup],
  [...upstreamCommands, ...certCommands, ...turnCommands, ...fail2banCommands, ...nicCommands, install],
  { install: runInstall },
);

export const commandModules: CommandModule[] = [
  runCommands,
  driftCommands,
  oneOffCommands,
  inventoryCommands,
];
