/**
 * The appliance's part of what `rpctl facts` prints: its identity and generation, and the files
 * rpctl manages (hashes, owner, mode; never their content). The certificate and TURN concerns add
 * theirs (recipes/certificate/describe.ts, recipes/turn/describe.ts).
 *
 *   rpctl facts -i lab.yaml --limit lab-1
 *   { "hosts": [ { "name": "lab-1", "facts": { "appliance": { "generation": "v4", ... },
 *       "files": { "pexapp": { "sha256": ... } }, "certificate": { "daysLeft": 1094, ... } } } ] }
 */
import { type FactSpec, type HostFacts, mergeFactSpecs, oneLine } from '../../src/engine/contract.js';
import { applianceFactSpec, applianceFacts } from './facts.js';
import { MANAGED_FILES } from './paths.js';

export { MANAGED_FILES };

/** Read on every host in every run: cheap, and what the appliance is. */
export const reportFactSpec: FactSpec = mergeFactSpecs([
  applianceFactSpec,
  {
    files: Object.values(MANAGED_FILES).map((path) => ({
      path,
      read: path === MANAGED_FILES.certificate ? ('certificates' as const) : ('content' as const),
    })),
  },
]);

export function describeAppliance(facts: HostFacts, host: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  try {
    out.appliance = applianceFacts(facts, host);
  } catch (err) {
    out.appliance = { error: oneLine(err) };
  }
  out.files = Object.fromEntries(
    Object.entries(MANAGED_FILES).map(([name, path]) => {
      const f = facts.file(path);
      return [
        name,
        f.exists
          ? {
              path,
              exists: true,
              sha256: f.sha256,
              size: f.size,
              mode: f.mode.toString(8).padStart(4, '0'),
              owner: f.owner,
              group: f.group,
            }
          : { path, exists: false },
      ];
    }),
  );
  return out;
}
