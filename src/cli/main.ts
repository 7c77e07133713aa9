/** Entry point of bin/rpctl: the composition root, the only file under src/ that imports recipes/. */
import { concerns } from '../../recipes/index.js';
import { processIo } from './io.js';
import { run } from './program.js';
import { registryOf } from './registry.js';

const code = await run(process.argv.slice(2), processIo(), registryOf(concerns));
process.exitCode = code;
