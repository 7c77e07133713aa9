/**
 * Validating a value of an inventory section (types.ts) that did not come through the loader: a
 * one-off command's flags replace the inventory's section with it.
 */
import type { z } from 'zod';
import { InputError } from '../errors.js';
import type { ApplianceConfig } from './model.js';
import type { InventorySection } from './types.js';

/**
 * The appliance with `value` as its section, validated by the section's schema as the loader
 * validates the inventory's. Throws InputError naming the appliance and the field.
 */
export function withSection<Schema extends z.ZodType>(
  appliance: ApplianceConfig,
  section: InventorySection<Schema>,
  value: unknown,
): ApplianceConfig {
  const parsed = section.schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = [section.key, ...(issue?.path ?? [])].join('.');
    throw new InputError(`${appliance.name}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return { ...appliance, sections: { ...appliance.sections, [section.key]: parsed.data } };
}
