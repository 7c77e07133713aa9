/**
 * What the CLI knows of the concerns (recipes/index.ts), gathered once: every recipe in concern
 * order, the inventory sections, the facts every run reads, what `rpctl facts` prints, the drift
 * checks and the probe kinds. src/cli/main.ts builds it; commands read it from their context.
 */
import type {
  AcquirerRegistry,
  AnyOneOffCommand,
  Concern,
  DriftCheck,
  FactSpec,
  HostFacts,
  InventorySection,
  OneOffGroup,
  ProbeRegistry,
  Recipe,
} from '../engine/contract.js';
import { mergeFactSpecs } from '../engine/facts.js';

export interface Registry {
  recipes: readonly Recipe[];
  sections: readonly InventorySection[];
  /** facts read on every host whatever the recipes (the appliance's identity and generation) */
  baseFacts?: FactSpec;
  /** what `rpctl facts` prints for a host, from its gathered facts */
  describeFacts?(facts: HostFacts, host: string): unknown;
  /** what `rpctl drift` checks besides planning (the served certificate's expiry) */
  driftChecks?: readonly DriftCheck[];
  /** the verification probes recipes' checks name */
  probes?: ProbeRegistry;
  /** the concerns' one-off commands and the groups they sit under */
  commands?: readonly AnyOneOffCommand[];
  commandGroups?: readonly OneOffGroup[];
  /** what changes that acquire during apply (an ACME order) are obtained with */
  acquirers?: AcquirerRegistry;
}

export function registryOf(concerns: readonly Concern[]): Required<Registry> {
  const probes = new Map(concerns.flatMap((c) => c.probes ?? []).map((p) => [p.name, p]));
  const acquirers: AcquirerRegistry = new Map(
    concerns.flatMap((c) => c.acquirers ?? []).map((a) => [a.name, a]),
  );
  return {
    recipes: concerns.flatMap((c) => c.recipes),
    sections: concerns.flatMap((c) => c.sections),
    baseFacts: mergeFactSpecs(concerns.flatMap((c) => (c.facts ? [c.facts] : []))),
    describeFacts(facts, host) {
      const now = new Date();
      return Object.assign({}, ...concerns.map((c) => c.describeFacts?.(facts, host, now) ?? {}));
    },
    driftChecks: concerns.flatMap((c) => c.driftChecks ?? []),
    probes,
    commands: concerns.flatMap((c) => c.commands ?? []),
    commandGroups: concerns.flatMap((c) => c.commandGroups ?? []),
    acquirers,
  };
}
