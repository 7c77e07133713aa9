/**
 * Values written into an existing YAML file by save.ts: one-line (flow) or block text that reads
 * back as exactly the value given.
 */
import YAML from 'yaml';

/** A plain scalar is used only when it is unambiguous in any context (flow included) and reads back the same. */
function renderString(text: string): string {
  if (/^[A-Za-z0-9._/@+-]+$/.test(text) && YAML.parse(text) === text) return text;
  // JSON's double-quoted strings are valid YAML double-quoted scalars.
  return JSON.stringify(text);
}

export function renderInline(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return renderString(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write the number ${value} to YAML`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(renderInline).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([key, item]) => `${renderString(key)}: ${renderInline(item)}`).join(', ')} }`;
  }
  throw new Error(`cannot write a ${typeof value} to YAML`);
}

/** A value that is written as a block (a non-empty list or mapping); everything else is inline. */
export function isBlockValue(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

/** Block text of a list or mapping, every line indented by `indent` spaces, without a final newline. */
export function renderBlock(value: unknown, indent: number, eol: string): string {
  const pad = ' '.repeat(indent);
  return YAML.stringify(value, { lineWidth: 0 })
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join(eol);
}

/** `key: value` (or `key:` and a block) at `indent`, for inserting a new pair. */
export function renderPair(key: string, value: unknown, indent: number, eol: string): string {
  const head = `${' '.repeat(indent)}${renderString(key)}:`;
  return isBlockValue(value)
    ? `${head}${eol}${renderBlock(value, indent + 2, eol)}`
    : `${head} ${renderInline(value)}`;
}
