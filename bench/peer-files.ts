/**
 * What the peer tools (Ansible, Ansible+Mitogen, pyinfra) compare against: every file rpctl's
 * facts read, as each appliance has it (so the fleet is in sync), the read-only commands those
 * facts run, and the upstream change as a file per appliance. Their projects share one copy.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { concerns } from '../recipes/index.js';
import { PEXAPP } from '../recipes/upstreams/recipe.js';
import { mergeFactSpecs } from '../src/engine/facts.js';
import type { LabConfig, LabState } from '../test/lab/lab.js';
import { applianceFile } from './fleet.js';

export { PEXAPP };

/** Files rpctl's facts read, and the commands they run, in one list (the recipes' own specs). */
export function factReads() {
  const merged = mergeFactSpecs(concerns.flatMap((concern) => concern.recipes).map((recipe) => recipe.facts));
  return { files: merged.files.map((f) => f.path), commands: merged.commands };
}

export interface PeerFiles {
  /** files/NAME/PATH: each appliance's files as it has them; files/NAME/pexapp{,-changed} */
  dir: string;
  /** the fact files each appliance has (the others are read as absent) */
  present: ReadonlyMap<string, readonly string[]>;
  /** saves each appliance's pexapp as the change's target content (call after rpctl added the node) */
  snapshotChanged(names: readonly string[]): void;
}

export function peerFiles(cfg: LabConfig, state: LabState): PeerFiles {
  const dir = join(cfg.labDir, 'peer-files');
  rmSync(dir, { recursive: true, force: true });
  const { files } = factReads();
  const present = new Map<string, string[]>();
  for (const { name } of state.appliances) {
    const has: string[] = [];
    for (const path of files) {
      const content = applianceFile(cfg, name, path);
      if (content === undefined) continue;
      has.push(path);
      const local = join(dir, name, path);
      mkdirSync(join(local, '..'), { recursive: true, mode: 0o700 });
      writeFileSync(local, content, { mode: 0o600 });
    }
    present.set(name, has);
    writeFileSync(join(dir, name, 'pexapp'), applianceFile(cfg, name, PEXAPP) ?? '');
  }
  return {
    dir,
    present,
    snapshotChanged(changed) {
      for (const name of changed) {
        writeFileSync(join(dir, name, 'pexapp-changed'), applianceFile(cfg, name, PEXAPP) ?? '');
      }
    },
  };
}
