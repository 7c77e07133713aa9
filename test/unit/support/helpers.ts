/** Shared fixtures of the unit tests: temporary directories, inventories from text, a stand-in section. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { z } from 'zod';
import { bufferIo } from '../../../src/cli/io.js';
import { parseInventory } from '../../../src/inventory/load.js';
import { secret } from '../../../src/inventory/secrets.js';
import type { InventorySection } from '../../../src/inventory/types.js';
import { host, port } from '../../../src/inventory/types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rpctl-unit-'));
  dirs.push(dir);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, name), content, { mode: 0o600 });
}

/** A section shaped like a recipe's, so merging and section errors can be tested before recipes exist. */
export const testSection: InventorySection = {
  key: 'upstreams',
  description: 'conferencing nodes behind the reverse proxy',
  schema: z.strictObject({
    nodes: z.array(host).min(1),
    port: port.optional(),
    options: z.strictObject({ keepalive: z.int().optional(), ipHash: z.boolean().optional() }).optional(),
  }),
};

export const turnSection: InventorySection = {
  key: 'turn',
  description: 'TURN server',
  schema: z.strictObject({ username: z.string(), password: secret }),
};

/** Parse inventory text as if it were `inventory.yaml` in `cwd`; returns the inventory and what went to stderr. */
export function inventoryFrom(
  text: string,
  options: { cwd?: string; sections?: InventorySection[]; env?: NodeJS.ProcessEnv } = {},
) {
  const { io, stderr } = bufferIo({
    cwd: options.cwd ?? '/work/inv',
    env: options.env ?? { HOME: '/home/ops' },
  });
  const inventory = parseInventory(text, 'inventory.yaml', {
    sections: options.sections ?? [testSection, turnSection],
    io,
  });
  return { inventory, stderr };
}

/** The problems an invalid inventory text produces, one line each. */
export function problemsOf(text: string, sections?: InventorySection[]): string[] {
  try {
    inventoryFrom(text, sections ? { sections } : {});
  } catch (err) {
    const problems = (err as { problems?: string[] }).problems;
    if (problems) return problems;
    throw err;
  }
  throw new Error('expected the inventory to be invalid');
}

/** Dedent a template literal so YAML fixtures can be indented with the test code. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce(
    (out, part, i) => out + part + (i < values.length ? String(values[i]) : ''),
    '',
  );
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(
    ...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
  );
  return lines.map((l) => l.slice(indent)).join('\n');
}
