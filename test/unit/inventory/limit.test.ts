import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { selectAppliances } from '../../../src/inventory/limit.js';
import { inventoryFrom, yaml } from '../support/helpers.js';

const { inventory } = inventoryFrom(yaml`
  groups:
    dc1: {}
    dc2: {}
    proxies: {}
    empty: {}
  appliances:
    rp1: { groups: [dc1, proxies] }
    rp2: { groups: [dc1, proxies] }
    rp-test1: { groups: [dc2, proxies] }
    turn1: { groups: [dc1] }
    turn2: { groups: [dc2] }
`);

const names = (limit?: string) => selectAppliances(inventory, limit).map((a) => a.name);

function limitError(limit: string): string {
  try {
    selectAppliances(inventory, limit);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error(`expected --limit ${limit} to be refused`);
}

describe('selectAppliances', () => {
  it('selects every appliance without a limit', () => {
    expect(names()).toEqual(['rp1', 'rp2', 'rp-test1', 'turn1', 'turn2']);
  });

  it('refuses an empty --limit (leave it out to mean every appliance), and says what a typo was close to', () => {
    expect(limitError('')).toBe(
      '--limit: "" names no appliance or group; leave --limit out to act on every appliance',
    );
    expect(limitError(' , ')).toMatch(/^--limit: " , " names no appliance or group;/);
    expect(limitError('prxies')).toBe(
      '--limit: "prxies" matches no appliance or group; did you mean "proxies"?',
    );
    expect(limitError('rp-tset1,rp1')).toBe(
      '--limit: "rp-tset1" matches no appliance or group; did you mean "rp-test1"?',
    );
    expect(limitError('turn3')).toBe('--limit: "turn3" matches no appliance or group; did you mean "turn1"?');
    expect(limitError('bastion')).toBe('--limit: "bastion" matches no appliance or group');
    expect(limitError('bastion*')).toBe('--limit: "bastion*" matches no appliance or group');
  });

  it('selects by appliance name and by group name, in inventory order', () => {
    expect(names('turn2,rp1')).toEqual(['rp1', 'turn2']);
    expect(names('dc2')).toEqual(['rp-test1', 'turn2']);
    expect(names('proxies, turn1')).toEqual(['rp1', 'rp2', 'rp-test1', 'turn1']);
  });

  it('matches globs against appliance and group names', () => {
    expect(names('rp*')).toEqual(['rp1', 'rp2', 'rp-test1']);
    expect(names('turn?')).toEqual(['turn1', 'turn2']);
    expect(names('rp[12]')).toEqual(['rp1', 'rp2']);
    expect(names('turn[!1]')).toEqual(['turn2']);
    expect(names('rp[1-2]')).toEqual(['rp1', 'rp2']);
    expect(names('dc*')).toEqual(names());
    expect(names('prox*')).toEqual(['rp1', 'rp2', 'rp-test1']);
  });

  it('removes exclusions from the positives, or from everything when there are none', () => {
    expect(names('proxies,!rp-test*')).toEqual(['rp1', 'rp2']);
    expect(names('!dc2')).toEqual(['rp1', 'rp2', 'turn1']);
    expect(names('dc1,!turn*,!rp2')).toEqual(['rp1']);
    expect(names('!nothing-like-this')).toEqual(names());
  });

  it('refuses a positive pattern that matches nothing', () => {
    expect(limitError('rp1,rp9')).toBe('--limit: "rp9" matches no appliance or group; did you mean "rp1"?');
    expect(limitError('lb*')).toBe('--limit: "lb*" matches no appliance or group');
    expect(limitError('empty')).toBe(
      '--limit: "empty" matches no appliance or group (group empty has no appliances)',
    );
  });

  it('refuses a selection that ends empty', () => {
    expect(limitError('rp1,!proxies')).toBe('--limit: "rp1,!proxies" leaves no appliance selected');
    expect(limitError('!*')).toBe('--limit: "!*" leaves no appliance selected');
  });

  it('refuses characters that are not names or globs', () => {
    for (const bad of ['rp1;id', 'rp 1', '$(id)', 'rp1/x', '!', 'rp[1', 'rp]1', 'rp!1', 'rp1\n']) {
      expect(limitError(bad), JSON.stringify(bad)).toMatch(/^--limit: .* is not a valid (pattern|glob)/);
    }
  });
});
