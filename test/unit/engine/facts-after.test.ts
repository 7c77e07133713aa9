import { describe, expect, it } from 'vitest';
import type { Handler, Recipe } from '../../../src/engine/contract.js';
import { GatheredFacts } from '../../../src/engine/facts.js';
import { factsAfterSpec } from '../../../src/engine/host.js';
import { planHost } from '../../../src/engine/plan.js';
import { Redactor } from '../../../src/engine/redact.js';
import { sh } from '../../../src/transport/shell.js';

const reload: Handler = {
  id: 'web:reload',
  command: sh`reload-web`,
  disruptive: false,
  verify: () => [],
  facts: { commands: [{ id: 'web-state', command: sh`web-status` }] },
};

/** A recipe reading `path`; it writes `path` (and notifies `notify`) when `change` is set. */
function recipe(name: string, path: string, change: boolean, notify: Handler[] = []): Recipe {
  return {
    name,
    description: name,
    section: name,
    desired: () => ({}),
    facts: { files: [{ path }], commands: [{ id: `${name}-dump`, command: sh`dump ${name}` }] },
    plan: () => ({
      changes: change ? [{ summary: `write ${path}`, writes: [{ path, content: 'new' }], notify }] : [],
    }),
  };
}

function spec(...recipes: Recipe[]) {
  const selected = recipes.map((r) => ({ recipe: r, desired: {} }));
  const facts = new GatheredFacts(
    new Map(recipes.map((r) => [r.facts.files![0]!.path, { path: r.facts.files![0]!.path, exists: false }])),
    new Map(),
  );
  const plan = planHost('rp1', selected, facts, {
    allowDisruptive: false,
    now: new Date(0),
    redactor: new Redactor(),
  });
  return factsAfterSpec({ plan, selected });
}

describe('facts read again after applying', () => {
  it("are the changed recipes' facts and what the handlers that ran verify with, nothing else", () => {
    const after = spec(recipe('web', '/etc/web', true, [reload]), recipe('jail', '/etc/jail', false));
    expect(after.files.map((f) => f.path)).toEqual(['/etc/web']);
    expect(after.commands.map((c) => c.id)).toEqual(['web-dump', 'web-state']);
  });

  it('are those of every changed recipe, each once, and no handler facts when none ran', () => {
    const after = spec(recipe('web', '/etc/web', true), recipe('jail', '/etc/jail', true));
    expect(after.files.map((f) => f.path)).toEqual(['/etc/web', '/etc/jail']);
    expect(after.commands.map((c) => c.id)).toEqual(['web-dump', 'jail-dump']);
  });

  it('replace only what they read in the facts read before', () => {
    const before = new GatheredFacts(
      new Map([
        ['/a', { path: '/a', exists: false }],
        ['/b', { path: '/b', exists: false }],
      ]),
      new Map([['x', { id: 'x', code: 0, output: 'old' }]]),
    );
    const reread = new GatheredFacts(
      new Map([['/a', { path: '/a', exists: false }]]),
      new Map([['x', { id: 'x', code: 0, output: 'new' }]]),
    );
    const merged = before.updatedWith(reread);
    expect([...merged.files.keys()]).toEqual(['/a', '/b']);
    expect(merged.command('x')?.output).toBe('new');
  });
});
