/**
 * Where --save writes a one-off's value (src/inventory/provenance.ts): at the level of the inventory
 * that declares it, refused when that level reaches appliances outside the selection.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { declaredLevels, planLevelEdits } from '../../../src/inventory/provenance.js';
import { yaml } from '../support/helpers.js';

const INVENTORY = yaml`
  defaults:
    upstreams:
      nodes: [10.40.0.11, 10.40.0.12]
  groups:
    proxies: {}
    pair:
      vars:
        upstreams:
          nodes: [10.40.0.21, 10.40.0.22]
  appliances:
    rp1: { host: 192.0.2.1, groups: [proxies] }
    rp2: { host: 192.0.2.2, groups: [proxies] }
    rp3: { host: 192.0.2.3, groups: [pair] }
    rp4: { host: 192.0.2.4, groups: [pair] }
    rp5:
      host: 192.0.2.5
      upstreams:
        nodes: [10.40.0.51]
`;

describe('declaredLevels', () => {
  it('names the level whose value wins for each appliance, or none', () => {
    const doc = parse(INVENTORY) as Record<string, unknown>;
    const levels = declaredLevels(doc, ['upstreams', 'nodes']);
    expect(Object.fromEntries([...levels].map(([name, level]) => [name, level?.docPath]))).toEqual({
      rp1: ['defaults'],
      rp2: ['defaults'],
      rp3: ['groups', 'pair', 'vars'],
      rp4: ['groups', 'pair', 'vars'],
      rp5: ['appliances', 'rp5'],
    });
    expect([...declaredLevels(doc, ['turn', 'externalIp']).values()]).toEqual(Array(5).fill(undefined));
  });
});

describe('planLevelEdits: where --save writes', () => {
  const doc = parse(INVENTORY) as Record<string, unknown>;
  const nodes = (value: unknown) => [{ path: ['upstreams', 'nodes'], value }];

  it('a value of the appliance is written on the appliance', () => {
    expect(planLevelEdits(doc, new Map([['rp5', nodes(['x'])]]))).toMatchObject([
      { docPath: ['appliances', 'rp5', 'upstreams', 'nodes'], value: ['x'], appliances: ['rp5'] },
    ]);
  });

  it("a group's value is written in the group when --limit covers every appliance it reaches", () => {
    const values = new Map([
      ['rp3', nodes(['y'])],
      ['rp4', nodes(['y'])],
    ]);
    expect(planLevelEdits(doc, values)).toMatchObject([
      { docPath: ['groups', 'pair', 'vars', 'upstreams', 'nodes'], appliances: ['rp3', 'rp4'] },
    ]);
  });

  it('a value of defaults is written in defaults when every appliance it reaches is selected', () => {
    const values = new Map(['rp1', 'rp2'].map((name) => [name, nodes(['z'])]));
    expect(planLevelEdits(doc, values)).toMatchObject([{ docPath: ['defaults', 'upstreams', 'nodes'] }]);
  });

  it('refuses a level that also reaches appliances outside --limit, and different values for one level', () => {
    expect(() => planLevelEdits(doc, new Map([['rp1', nodes(['z'])]]))).toThrow(
      '--save: upstreams.nodes is declared in defaults, which also gives it to rp2 (not in --limit); widen --limit to every appliance it reaches, or run without --save and edit defaults yourself (nothing was contacted)',
    );
    expect(() => planLevelEdits(doc, new Map([['rp3', nodes(['y'])]]))).toThrow(
      /declared in group pair, which also gives it to rp4/,
    );
    const differ = new Map([
      ['rp3', nodes(['y'])],
      ['rp4', nodes(['w'])],
    ]);
    expect(() => planLevelEdits(doc, differ)).toThrow(
      /declared once in group pair for rp3 and rp4, but their new values differ/,
    );
  });

  it('an undeclared value goes on the appliance: nothing it could hide', () => {
    expect(
      planLevelEdits(doc, new Map([['rp1', [{ path: ['turn', 'externalIp'], value: null }]]])),
    ).toMatchObject([{ level: undefined, docPath: ['appliances', 'rp1', 'turn', 'externalIp'] }]);
  });
});
