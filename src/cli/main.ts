/** Entry point of bin/rpctl. */
import { baseFacts, describeFacts, recipes, sections, serverName } from '../../recipes/index.js';
import { processIo } from './io.js';
import { run } from './program.js';

const code = await run(process.argv.slice(2), processIo(), {
  recipes,
  sections,
  baseFacts,
  describeFacts,
  serverName,
});
process.exitCode = code;
