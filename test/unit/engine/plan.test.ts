import { describe, expect, it } from 'vitest';
import { batches, failureBudget, GroupLimits } from '../../../src/engine/batches.js';
import { GatheredFacts, sha256 } from '../../../src/engine/facts.js';
import { planHost } from '../../../src/engine/plan.js';
import type { FileFact, Recipe } from '../../../src/engine/recipe.js';
import { Redactor } from '../../../src/engine/redact.js';
import { sh } from '../../../src/transport/shell.js';

function factsOf(files: Record<string, string>): GatheredFacts {
  const map = new Map<string, FileFact>(
    Object.entries(files).map(([path, text]) => {
      const content = Buffer.from(text);
      return [
        path,
        {
          path,
          exists: true,
          content,
          sha256: sha256(content),
          mode: 0o644,
          owner: 'root',
          group: 'root',
          size: content.length,
        },
      ];
    }),
  );
  return new GatheredFacts(map, new Map());
}

const reload = { id: 'svc:reload', command: sh`service svc reload`, disruptive: false };
const restart = { id: 'svc:restart', command: sh`service svc restart`, disruptive: true };

/** A recipe that appends a line to a file, optionally disruptive. */
function appender(
  name: string,
  line: string,
  options: { disruptive?: boolean; secret?: boolean } = {},
): Recipe<true> {
  return {
    name,
    description: name,
    section: name,
    desired: () => true,
    facts: { files: [{ path: '/etc/app.conf' }] },
    plan: (_d, facts) => {
      const text = facts.text('/etc/app.conf') ?? '';
      if (text.includes(line)) return { changes: [] };
      return {
        changes: [
          {
            summary: `add ${line}`,
            writes: [{ path: '/etc/app.conf', content: `${text}${line}\n`, secret: options.secret }],
            validate: [sh`app --check`],
            notify: [options.disruptive ? restart : reload],
            display: options.secret ? 'fingerprint abc -> def\n' : undefined,
          },
        ],
        warnings: name === 'a' ? ['a warning'] : [],
      };
    },
  };
}

const options = (allowDisruptive = false) => ({
  allowDisruptive,
  now: new Date(0),
  redactor: new Redactor(),
});

describe('planning a host', () => {
  it('lets each recipe see the files as the recipes before it leave them, and runs shared checks once', () => {
    const facts = factsOf({ '/etc/app.conf': 'base\n' });
    const plan = planHost(
      'h',
      [
        { recipe: appender('a', 'one'), desired: true },
        { recipe: appender('b', 'two'), desired: true },
      ],
      facts,
      options(),
    );
    expect(plan.changes.map((c) => c.summary)).toEqual(['add one', 'add two']);
    expect(plan.changes[1]!.diff).toContain('+two');
    expect(plan.changes[1]!.diff).not.toContain('+one'); // b's diff starts from a's result
    expect(plan.writes).toHaveLength(1);
    expect(plan.writes[0]!.write.content).toBe('base\none\ntwo\n');
    // compare-and-swap is against the host's original file, not the intermediate state
    expect(plan.writes[0]!.before.exists && plan.writes[0]!.before.sha256).toBe(sha256('base\n'));
    expect(plan.validate.map((v) => v.text)).toEqual(['app --check']);
    expect(plan.handlers.map((h) => h.id)).toEqual(['svc:reload']);
    expect(plan.warnings).toEqual(['a: a warning']);
  });

  it('defers disruptive changes without --allow-disruptive; later recipes plan against the real file', () => {
    const facts = factsOf({ '/etc/app.conf': 'base\n' });
    const selected = [
      { recipe: appender('a', 'one', { disruptive: true }), desired: true },
      { recipe: appender('b', 'two'), desired: true },
    ];
    const deferred = planHost('h', selected, facts, options(false));
    expect(deferred.changes.map((c) => [c.summary, c.deferred])).toEqual([
      ['add one', true],
      ['add two', false],
    ]);
    expect(deferred.writes[0]!.write.content).toBe('base\ntwo\n');
    expect(deferred.handlers.map((h) => h.id)).toEqual(['svc:reload']);
    const allowed = planHost('h', selected, facts, options(true));
    expect(allowed.changes.every((c) => !c.deferred)).toBe(true);
    expect(allowed.handlers.map((h) => h.id)).toEqual(['svc:restart', 'svc:reload']);
  });

  it('never diffs secret content, and redacts known secrets from diffs', () => {
    const facts = factsOf({ '/etc/app.conf': 'base\n' });
    const secret = planHost(
      'h',
      [{ recipe: appender('a', 'PRIVATE-STUFF', { secret: true }), desired: true }],
      facts,
      options(),
    );
    expect(secret.changes[0]!.diff).toBe('fingerprint abc -> def\n');
    const redactor = new Redactor();
    redactor.add('hunter22');
    const plain = planHost('h', [{ recipe: appender('a', 'password=hunter22'), desired: true }], facts, {
      ...options(),
      redactor,
    });
    expect(plain.changes[0]!.diff).toContain('+password=[REDACTED]');
    expect(plain.changes[0]!.diff).not.toContain('hunter22');
  });

  it('has nothing to do when every recipe is satisfied', () => {
    const facts = factsOf({ '/etc/app.conf': 'one\n' });
    const plan = planHost('h', [{ recipe: appender('a', 'one'), desired: true }], facts, options());
    expect(plan.changes).toEqual([]);
    expect(plan.handlers).toEqual([]);
  });
});

describe('rolling batches', () => {
  it('cuts hosts into batches of N or N%', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    expect(batches(hosts, { count: 2 })).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(batches(hosts, { percent: 40 })).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(batches(hosts, { percent: 1 })).toHaveLength(5); // at least one host per batch
    expect(batches(hosts, undefined)).toEqual([hosts]);
  });

  it('computes the failure budget', () => {
    expect(failureBudget(undefined, 10)).toBeUndefined();
    expect(failureBudget({ count: 0 }, 10)).toBe(0);
    expect(failureBudget({ percent: 25 }, 10)).toBe(2);
  });

  it('never runs more of a serial group at once than its serial allows', async () => {
    const groups = new Map([
      ['srv', { name: 'srv', serial: { count: 1 }, source: { file: 'x', line: 1, column: 1 } }],
    ]);
    const limits = new GroupLimits(groups, new Map([['srv', 3]]));
    let running = 0;
    let peak = 0;
    const work = () =>
      limits.run(['srv', 'other'], async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
      });
    await Promise.all([work(), work(), work()]);
    expect(peak).toBe(1);
  });
});
