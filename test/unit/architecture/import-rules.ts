/**
 * The import rules of docs/architecture.md, as code: which layer of src/ and which part of recipes/
 * may import what. `importsOf` finds every edge of a file (static imports, `import type`,
 * `export ... from`, `import x = require(...)`, `import('...')` calls and types with a literal);
 * `checkImports` returns one message per forbidden edge, naming the file, the target and the rule.
 *
 * Paths are repository-relative with forward slashes (`src/engine/run.ts`). Test code (`test/`,
 * `bench/`, any `test/` folder inside recipes, `*.test.ts`) is not checked.
 */
import { posix } from 'node:path';
import ts from 'typescript';

export interface SourceFile {
  path: string;
  text: string;
}

export interface ImportEdge {
  from: string;
  /** the specifier as written */
  specifier: string;
  /** repository path of a relative specifier (`.js` read as `.ts`); undefined for packages and node: */
  to: string | undefined;
}

/** Every module specifier a file names, whatever the kind of import. */
export function importsOf(file: SourceFile): ImportEdge[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  const literal = (node: ts.Node | undefined) => {
    if (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)))
      specifiers.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      literal(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      literal(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers.map((specifier) => ({ from: file.path, specifier, to: resolve(file.path, specifier) }));
}

function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined; // node: builtins and npm packages
  const path = posix.normalize(posix.join(posix.dirname(from), specifier));
  return path.replace(/\.js$/, '.ts');
}

/** Test code and benchmarks may import anything. */
export function isChecked(path: string): boolean {
  if (!path.endsWith('.ts') || path.endsWith('.d.ts') || path.endsWith('.test.ts')) return false;
  if (!path.startsWith('src/') && !path.startsWith('recipes/')) return false;
  return !path.split('/').includes('test');
}

const under = (dir: string) => (path: string) => path.startsWith(`${dir}/`);
const exactly = (file: string) => (path: string) => path === file;

interface Layer {
  name: string;
  contains(path: string): boolean;
  allowed: { label: string; matches(path: string): boolean }[];
}

const ERRORS = { label: 'src/errors.ts', matches: exactly('src/errors.ts') };
const INVENTORY = { label: 'src/inventory/**', matches: under('src/inventory') };
const TRANSPORT = { label: 'src/transport/**', matches: under('src/transport') };
const ENGINE = { label: 'src/engine/**', matches: under('src/engine') };
const REPORT = { label: 'src/report/**', matches: under('src/report') };

/** The layers of src/, each with what it may import (besides node: builtins and npm packages). */
const SRC_LAYERS: Layer[] = [
  { name: 'src/errors.ts', contains: exactly('src/errors.ts'), allowed: [] },
  { name: 'src/inventory/**', contains: under('src/inventory'), allowed: [ERRORS, INVENTORY] },
  { name: 'src/transport/**', contains: under('src/transport'), allowed: [ERRORS, TRANSPORT] },
  {
    name: 'src/engine/**',
    contains: under('src/engine'),
    allowed: [ERRORS, INVENTORY, TRANSPORT, ENGINE],
  },
  {
    name: 'src/report/**',
    contains: under('src/report'),
    allowed: [ERRORS, INVENTORY, ENGINE, REPORT],
  },
  {
    name: 'src/cli/**',
    contains: under('src/cli'),
    allowed: [{ label: 'src/**', matches: under('src') }],
  },
];

const COMPOSITION_ROOT = 'src/cli/main.ts';
const RECIPE_INDEX = 'recipes/index.ts';
/** What a recipe may take from src/: the contract and the inventory's value types. */
const RECIPE_SRC = ['src/engine/contract.ts', 'src/inventory/types.ts'];
/** Shared by every concern: base facts and managed paths, service handlers. */
const SHARED_RECIPE_DIRS = ['recipes/appliance', 'recipes/services'];

/** The concern folder of a file under recipes/ (`recipes/turn/nat.ts` -> `turn`); undefined at the top. */
function concernOf(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length > 2 ? parts[1] : undefined;
}

function srcRule(edge: ImportEdge & { to: string }): string | undefined {
  const { from, to } = edge;
  const layer = SRC_LAYERS.find((l) => l.contains(from));
  if (!layer)
    return 'a file under src/ outside the layers (errors.ts, inventory, transport, engine, report, cli)';
  if (to.startsWith('recipes/')) {
    if (from === COMPOSITION_ROOT && to === RECIPE_INDEX) return undefined;
    return `only ${COMPOSITION_ROOT} may import recipes/, and only ${RECIPE_INDEX}`;
  }
  if (layer.allowed.some((a) => a.matches(to))) return undefined;
  const allowed = layer.allowed.map((a) => a.label).join(', ');
  return allowed ? `${layer.name} may import only ${allowed}` : `${layer.name} imports nothing local`;
}

function recipeRule(edge: ImportEdge & { to: string }): string | undefined {
  const { from, to } = edge;
  if (to.startsWith('src/')) {
    if (RECIPE_SRC.includes(to)) return undefined;
    return `recipes/** may import from src/ only ${RECIPE_SRC.join(' and ')}`;
  }
  if (!to.startsWith('recipes/')) return 'recipes/** may import only src/ and recipes/';
  if (from === RECIPE_INDEX) {
    if (concernOf(to) !== undefined && posix.basename(to) === 'index.ts' && to.split('/').length === 3)
      return undefined;
    return `${RECIPE_INDEX} may import only each concern's index.ts`;
  }
  const concern = concernOf(from);
  if (concern !== undefined && concernOf(to) === concern) return undefined;
  if (SHARED_RECIPE_DIRS.some((dir) => to.startsWith(`${dir}/`))) return undefined;
  if (concernOf(to) !== undefined && to.split('/').length === 3 && posix.basename(to) === 'schema.ts')
    return undefined;
  return `a recipe may import its own concern folder, ${SHARED_RECIPE_DIRS.map((d) => `${d}/**`).join(', ')} and another concern's schema.ts`;
}

/** One message per forbidden edge: `FILE imports TARGET ('SPECIFIER'): RULE`. */
export function checkImports(files: readonly SourceFile[]): string[] {
  const violations = new Set<string>(); // a module imported twice (a value and a type) is one edge
  for (const file of files) {
    if (!isChecked(file.path)) continue;
    for (const edge of importsOf(file)) {
      if (edge.to === undefined) continue;
      const resolved = { ...edge, to: edge.to };
      const broken = file.path.startsWith('src/') ? srcRule(resolved) : recipeRule(resolved);
      if (broken) violations.add(`${edge.from} imports ${edge.to} ('${edge.specifier}'): ${broken}`);
    }
  }
  return [...violations];
}
