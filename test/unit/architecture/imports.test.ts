/**
 * The dependency direction of the code: cli -> engine -> transport, inventory below them, report
 * above the engine, recipes as leaves that import only the contract (rules in import-rules.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkImports, importsOf, isChecked, type SourceFile } from './import-rules.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

function sourceFiles(dir: string): SourceFile[] {
  return readdirSync(`${repo}${dir}`, { recursive: true, encoding: 'utf8' })
    .map((name) => `${dir}/${name.split('\\').join('/')}`)
    .filter(isChecked)
    .map((path) => ({ path, text: readFileSync(`${repo}${path}`, 'utf8') }));
}

/** The violations of one synthetic file. */
const check = (path: string, text: string) => checkImports([{ path, text }]);

describe('importsOf', () => {
  it('finds every kind of import: static, type-only, re-exports, require, dynamic and import types', () => {
    const text = `
      import { a } from './a.js';
      import type { B } from '../inventory/b.js';
      import './side-effect.js';
      export { c } from './c.js';
      export type { D } from './d.js';
      export * from './e.js';
      import f = require('./f.js');
      const g = await import('../transport/g.js');
      const h = await import(\`./h.js\`);
      type I = import('./i.js').I;
      const notLiteral = await import(name);
      import { z } from 'zod';
      import { join } from 'node:path';
    `;
    const edges = importsOf({ path: 'src/engine/x.ts', text });
    expect(edges.map((e) => e.to)).toEqual([
      'src/engine/a.ts',
      'src/inventory/b.ts',
      'src/engine/side-effect.ts',
      'src/engine/c.ts',
      'src/engine/d.ts',
      'src/engine/e.ts',
      'src/engine/f.ts',
      'src/transport/g.ts',
      'src/engine/h.ts',
      'src/engine/i.ts',
      undefined,
      undefined,
    ]);
    expect(edges.map((e) => e.specifier).slice(-2)).toEqual(['zod', 'node:path']);
  });
});

describe('checkImports', () => {
  it('reports a forbidden edge, naming the file, the target and the rule', () => {
    expect(check('src/engine/apply.ts', "import type { Io } from '../cli/io.js';")).toEqual([
      "src/engine/apply.ts imports src/cli/io.ts ('../cli/io.js'): src/engine/** may import only src/errors.ts, src/inventory/**, src/transport/**, src/engine/**",
    ]);
  });

  it.each([
    // [file, specifier, rule broken (or undefined when allowed)]
    ['src/errors.ts', './inventory/model.js', 'src/errors.ts imports nothing local'],
    ['src/inventory/load.ts', '../errors.js', undefined],
    ['src/inventory/load.ts', '../cli/io.js', 'src/inventory/** may import only'],
    ['src/inventory/schema.ts', '../engine/contract.js', 'src/inventory/** may import only'],
    ['src/transport/ssh.ts', '../inventory/model.js', 'src/transport/** may import only'],
    ['src/transport/ssh.ts', './settings.js', undefined],
    ['src/engine/run.ts', '../transport/types.js', undefined],
    ['src/engine/plan.ts', '../report/diff.js', 'src/engine/** may import only'],
    ['src/report/text.ts', '../engine/run.js', undefined],
    ['src/report/progress.ts', '../cli/io.js', 'src/report/** may import only'],
    ['src/cli/fleet.ts', '../report/text.js', undefined],
    ['src/cli/main.ts', '../../recipes/index.js', undefined],
    ['src/cli/commands/cert.ts', '../../../recipes/index.js', 'only src/cli/main.ts may import recipes/'],
    ['src/cli/main.ts', '../../recipes/turn/schema.js', 'only src/cli/main.ts may import recipes/, and only'],
    ['src/engine/run.ts', '../../recipes/index.js', 'only src/cli/main.ts may import recipes/'],
    ['src/util.ts', './errors.js', 'outside the layers'],
    ['recipes/turn/recipe.ts', '../../src/engine/contract.js', undefined],
    ['recipes/turn/recipe.ts', '../../src/inventory/types.js', undefined],
    ['recipes/turn/recipe.ts', '../../src/engine/facts.js', 'recipes/** may import from src/ only'],
    ['recipes/turn/recipe.ts', '../../src/errors.js', 'recipes/** may import from src/ only'],
    ['recipes/turn/recipe.ts', './nat.js', undefined],
    ['recipes/turn/client/stun.ts', '../nat.js', undefined],
    ['recipes/turn/recipe.ts', '../appliance/paths.js', undefined],
    ['recipes/turn/recipe.ts', '../services/turn.js', undefined],
    ['recipes/install/answers.ts', '../turn/schema.js', undefined],
    ['recipes/install/answers.ts', '../turn/credentials.js', 'a recipe may import its own concern folder'],
    ['recipes/index.ts', './turn/index.js', undefined],
    ['recipes/index.ts', './turn/recipe.js', "recipes/index.ts may import only each concern's index.ts"],
    ['recipes/turn-nat.ts', './upstreams.js', 'a recipe may import its own concern folder'],
    ['recipes/turn/test/nat.test.ts', '../../../src/engine/facts.js', undefined],
    ['recipes/turn/test/fixtures.ts', '../../../src/cli/io.js', undefined],
    ['src/engine/run.test.ts', '../cli/io.js', undefined],
  ])('%s -> %s', (file, specifier, broken) => {
    const violations = check(file, `import { x } from '${specifier}';`);
    if (broken === undefined) expect(violations).toEqual([]);
    else {
      expect(violations).toHaveLength(1);
      expect(violations[0]).toContain(`${file} imports `);
      expect(violations[0]).toContain(broken);
    }
  });
});

describe('the repository', () => {
  // Parsing every file takes 1-2 s, over 5 s on the shared, loaded cores: a timeout of its own.
  it('follows the import rules in src/ and recipes/', { timeout: 30_000 }, () => {
    const files = [...sourceFiles('src'), ...sourceFiles('recipes')];
    expect(files.length).toBeGreaterThan(50);
    expect(checkImports(files)).toEqual([]);
  });
});
