/** The registry the CLI builds from recipes/index.ts, for tests that run commands in-process. */
import { concerns } from '../recipes/index.js';
import { registryOf } from '../src/cli/registry.js';

export const registry = registryOf(concerns);
export const { recipes, sections, baseFacts, describeFacts, driftChecks, probes } = registry;
