import { describe, expect, it } from 'vitest';
import { inventoryFrom, problemsOf, yaml } from '../support/helpers.js';

describe('the fleet an inventory describes', () => {
  it('is its fleet: name, else its absolute path; history is kept 90 days unless it says', () => {
    const named = inventoryFrom(yaml`
      fleet: prod-eu
      history: { keep: 2w }
      appliances:
        rp1: {}
    `).inventory;
    expect([named.fleet, named.historyKeepMs]).toEqual(['prod-eu', 14 * 86_400_000]);
    const unnamed = inventoryFrom('appliances:\n  rp1: {}\n', { cwd: '/srv/ops' }).inventory;
    expect([unnamed.fleet, unnamed.historyKeepMs]).toEqual(['/srv/ops/inventory.yaml', 90 * 86_400_000]);
  });

  it('refuses an empty fleet name and a retention that is not a duration', () => {
    expect(
      problemsOf(yaml`
        fleet: ''
        history: { keep: a while }
        appliances:
          rp1: {}
      `),
    ).toEqual([
      expect.stringMatching(/^inventory\.yaml:1:8: fleet: /),
      expect.stringMatching(
        /^inventory\.yaml:2:18: history\.keep: expected a number and a unit: m \(minutes\)/,
      ),
    ]);
  });
});
