import type { ApplianceConfig } from '../../../src/inventory/model.js';

/** An appliance as the inventory loader would produce it: rp1 at 192.0.2.1 unless overridden. */
export function applianceConfig(overrides: Partial<ApplianceConfig> = {}): ApplianceConfig {
  return {
    name: 'rp1',
    groups: [],
    ssh: { host: '192.0.2.1' },
    sudo: {},
    sections: {},
    source: { file: 'inventory.yaml', line: 1, column: 1 },
    ...overrides,
  };
}
