/**
 * Verification after an apply: a recipe states what must be true as Checks. Assertions are decided
 * by the recipe itself; probes (a real TLS handshake, a real TURN allocation) are run here, from
 * the control machine to the appliance's address, by the ProbeKind a concern registered under the
 * check's name. The engine knows no probe kind: a new one is added in its concern.
 */
import type { Check, CheckResult, ProbeRegistry, SecretRef } from './contract.js';

export type { CheckResult } from './contract.js';

/** The probe kinds of a run, by name (built by the CLI from the concerns). */
export type Probes = ProbeRegistry;

export interface CheckContext {
  address: string;
  probes: Probes;
  secret(ref: SecretRef): string;
}

async function runProbe(
  check: Extract<Check, { kind: 'probe' }>,
  context: CheckContext,
): Promise<CheckResult> {
  const kind = context.probes.get(check.probe);
  if (!kind) return { ok: false, message: `${check.message}: no probe "${check.probe}" is registered` };
  try {
    return await kind.run(check.params, check.message, { address: context.address, secret: context.secret });
  } catch (err) {
    return { ok: false, message: `${check.message}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export async function runChecks(checks: readonly Check[], context: CheckContext): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    results.push(
      check.kind === 'assert' ? { ok: check.ok, message: check.message } : await runProbe(check, context),
    );
  }
  return results;
}
