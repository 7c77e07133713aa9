/**
 * `--save`: write a one-off change back into the inventory, touching only the edited value.
 * Comments, order, quoting and blank lines elsewhere stay byte for byte; the file is replaced
 * atomically (temp file + rename) with its mode kept.
 *
 *   await updateInventoryFile('inventories/prod.yaml', [
 *     { op: 'set', path: ['appliances', 'rp1', 'upstreams', 'nodes'], value: ['10.0.0.1', '10.0.0.2'] },
 *     { op: 'set', path: ['groups', 'proxies', 'vars', 'fail2ban', 'maxretry'], value: 10 },
 *   ]);
 *
 * Edits are text splices at the positions yaml reports. A value inside a list or a flow
 * collection (`{a: 1}`) is rewritten with that whole collection, which is simpler than splicing.
 */
import { randomBytes } from 'node:crypto';
import { readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { type Document, isCollection, isMap, isScalar, type Node, type Pair, parseDocument } from 'yaml';
import { InputError } from '../errors.js';
import { formatPath } from './problems.js';
import { isBlockValue, renderBlock, renderInline, renderPair } from './yaml-render.js';

export type InventoryPath = readonly (string | number)[];

export type InventoryEdit =
  | { op: 'set'; path: InventoryPath; value: unknown }
  | { op: 'delete'; path: InventoryPath };

export async function updateInventoryFile(file: string, edits: readonly InventoryEdit[]): Promise<void> {
  const target = await realpath(file); // write through a symlink, not over it
  const { mode } = await stat(target);
  const updated = applyInventoryEdits(await readFile(target, 'utf8'), edits);
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, updated, { mode: mode & 0o7777, flag: 'wx' });
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** The text with every edit applied, in order. */
export function applyInventoryEdits(text: string, edits: readonly InventoryEdit[]): string {
  return edits.reduce((current, edit) => applyEdit(current, edit), text);
}

function applyEdit(text: string, edit: InventoryEdit): string {
  const [root, name] = edit.path;
  const named = root === 'appliances' || root === 'groups';
  if (
    (!named && root !== 'defaults') ||
    (named && (typeof name !== 'string' || edit.path.length < 3)) ||
    edit.path.length < 2
  ) {
    throw new InputError(
      `cannot edit ${formatPath(edit.path)}: only values under defaults, appliances.NAME or groups.NAME`,
    );
  }
  const editor = new TextEditor(text);
  const owner = named ? [root, name!] : [root];
  if (!editor.doc.hasIn(owner)) {
    const what = named ? `${root.slice(0, -1)} ${name}` : 'defaults';
    throw new InputError(`cannot edit ${formatPath(edit.path)}: the inventory has no ${what}`);
  }
  const result = edit.op === 'set' ? editor.set(edit.path, edit.value) : editor.delete(edit.path);
  verify(result, edit);
  return result;
}

// The splice must read back as intended; anything else is a bug here, and nothing is written.
function verify(text: string, edit: InventoryEdit): void {
  const doc = parseDocument(text);
  let ok = doc.errors.length === 0;
  if (ok && edit.op === 'set') ok = isDeepStrictEqual(jsAt(doc.toJS(), edit.path), edit.value);
  // a deleted list item's index now holds the next item; only a deleted key must be gone
  if (ok && edit.op === 'delete' && typeof edit.path.at(-1) === 'string') ok = !doc.hasIn(edit.path);
  if (!ok)
    throw new Error(
      `editing ${formatPath(edit.path)} produced an unexpected result; the file was not changed`,
    );
}

function jsAt(value: unknown, path: InventoryPath): unknown {
  return path.reduce<unknown>(
    (current, segment) =>
      typeof current === 'object' && current !== null
        ? (current as Record<string, unknown>)[segment]
        : undefined,
    value,
  );
}

class TextEditor {
  readonly doc: Document;
  private readonly eol: string;

  constructor(private readonly text: string) {
    this.doc = parseDocument(text);
    if (this.doc.errors.length > 0)
      throw new InputError(
        `cannot edit an inventory with YAML errors: ${this.doc.errors[0]?.message.split('\n')[0]}`,
      );
    this.eol = text.includes('\r\n') ? '\r\n' : '\n';
  }

  set(path: InventoryPath, value: unknown): string {
    const anchor = this.anchor(path);
    if (anchor) return this.set(anchor.path, anchor.rewrite(value));
    let map = this.doc.contents as Node;
    for (const [depth, segment] of path.entries()) {
      const pair = isMap(map) ? findPair(map, segment) : undefined;
      const rest = path.slice(depth + 1);
      if (!pair) return this.insertPair(map, String(segment), nest(rest, value));
      // a scalar, an empty `{}` or the target itself: rewrite the value from here down
      if (rest.length === 0 || !isMap(pair.value) || pair.value.items.length === 0) {
        return this.replaceValue(pair, nest(rest, value));
      }
      map = pair.value;
    }
    throw new Error('unreachable: an edit path is never empty');
  }

  delete(path: InventoryPath): string {
    if (!this.doc.hasIn(path)) return this.text;
    const anchor = this.anchor(path);
    if (anchor) return this.set(anchor.path, anchor.rewrite(undefined));
    // An emptied section goes too: `upstreams:` with nothing under it would be invalid.
    let depth = path.length;
    while (
      depth > 3 &&
      (this.doc.getIn(path.slice(0, depth - 1), true) as { items: unknown[] }).items.length === 1
    ) {
      depth--;
    }
    const parent = this.doc.getIn(path.slice(0, depth - 1), true) as Node;
    const pair = findPair(parent, path[depth - 1]!)!;
    const key = pair.key as Node;
    const start = this.lineStart(key.range![0]);
    const end = this.lineEnd(this.pairEnd(pair));
    return this.text.slice(0, start) + this.text.slice(Math.min(this.text.length, end + this.eol.length));
  }

  /**
   * When the path goes through a list or a flow collection, the edit becomes "set that whole
   * collection" at the nearest block-map pair holding it.
   */
  private anchor(
    path: InventoryPath,
  ): { path: InventoryPath; rewrite: (value: unknown) => unknown } | undefined {
    for (let depth = 1; depth < path.length; depth++) {
      const node = this.doc.getIn(path.slice(0, depth), true) as Node | undefined;
      if (!isCollection(node) || (isMap(node) && !node.flow)) continue;
      if (isMap(node) && node.items.length === 0) continue; // `{}`: written out as a block instead
      const outer = path.slice(0, depth);
      return {
        path: outer,
        rewrite: (value) => {
          const copy = structuredClone(node.toJSON()) as unknown;
          return withValue(copy, path.slice(depth), value);
        },
      };
    }
    return undefined;
  }

  private replaceValue(pair: Pair, value: unknown): string {
    const key = pair.key as Node;
    const keyColumn = this.column(key.range![0]);
    const colonEnd = this.text.indexOf(':', key.range![1]) + 1;
    const old = pair.value as Node | null;
    const newIsBlock = isBlockValue(value);
    const oldIsEmptyScalar = !old?.range || (isScalar(old) && old.range[0] === old.range[1]);

    if (oldIsEmptyScalar || (isCollection(old) && old.items.length === 0)) {
      // `key:` or `key: {}`: an inline value goes after the colon, a block below the key's line
      const valueEnd = oldIsEmptyScalar ? colonEnd : old!.range![1];
      if (!newIsBlock) return this.splice(colonEnd, valueEnd, ` ${renderInline(value)}`);
      const lineEnd = this.lineEnd(valueEnd);
      const restOfLine = this.text.slice(valueEnd, lineEnd); // a comment stays on the key's line
      const block = `${this.eol}${renderBlock(value, keyColumn + 2, this.eol)}`;
      return this.text.slice(0, colonEnd) + restOfLine + block + this.text.slice(lineEnd);
    }
    const oldNode = old!;
    if (!isCollection(oldNode) || oldNode.flow) {
      // `key: 1`, `key: "x"`, `key: [a, b]`, `key: |` block text: the new value takes its place
      return this.splice(oldNode.range![0], this.contentEnd(oldNode), renderInline(value));
    }
    // a block list or mapping below the key
    if (!newIsBlock) return this.splice(colonEnd, this.contentEnd(oldNode), ` ${renderInline(value)}`);
    const column = this.column(oldNode.range![0]);
    // a list may sit at its key's column, a mapping may not
    if (column > keyColumn || Array.isArray(value)) {
      const block = renderBlock(value, column, this.eol).slice(column);
      return this.splice(oldNode.range![0], this.contentEnd(oldNode), block);
    }
    const lineEnd = this.lineEnd(colonEnd);
    return this.splice(
      lineEnd,
      this.contentEnd(oldNode),
      this.eol + renderBlock(value, keyColumn + 2, this.eol),
    );
  }

  private insertPair(map: Node, key: string, value: unknown): string {
    if (!isMap(map)) throw new Error(`cannot add ${key} under a ${map?.constructor.name ?? 'missing'} node`);
    const last = map.items.at(-1);
    if (!last) throw new Error('an empty mapping is rewritten, never inserted into');
    const column = this.column((last.key as Node).range![0]);
    const at = this.lineEnd(this.pairEnd(last));
    return this.splice(at, at, this.eol + renderPair(key, value, column, this.eol));
  }

  private pairEnd(pair: Pair): number {
    const value = pair.value as Node | null;
    const colonEnd = this.text.indexOf(':', (pair.key as Node).range![1]) + 1;
    return value?.range && value.range[1] > value.range[0] ? this.contentEnd(value) : colonEnd;
  }

  /** End of a value without the trailing newlines and spaces yaml includes in block ranges. */
  private contentEnd(node: Node): number {
    let end = node.range![1];
    while (end > node.range![0] && /\s/.test(this.text[end - 1]!)) end--;
    return end;
  }

  private splice(start: number, end: number, insert: string): string {
    return this.text.slice(0, start) + insert + this.text.slice(end);
  }

  private lineStart(offset: number): number {
    return this.text.lastIndexOf('\n', offset - 1) + 1;
  }

  /** Offset of the end of the line holding `offset` (before its \r\n or \n). */
  private lineEnd(offset: number): number {
    const newline = this.text.indexOf('\n', offset);
    if (newline === -1) return this.text.length;
    return this.text[newline - 1] === '\r' ? newline - 1 : newline;
  }

  private column(offset: number): number {
    return offset - this.lineStart(offset);
  }
}

function findPair(map: Node, segment: string | number): Pair | undefined {
  if (!isMap(map)) return undefined;
  return map.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
}

/** `{a: {b: value}}` for rest ['a', 'b']. */
function nest(rest: InventoryPath, value: unknown): unknown {
  return rest.reduceRight<unknown>((inner, segment) => ({ [segment]: inner }), value);
}

/** A copy of `container` with `value` at `path` (undefined deletes). */
function withValue(container: unknown, path: InventoryPath, value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (Array.isArray(container) && (typeof head !== 'number' || head > container.length)) {
    throw new InputError(`cannot edit item ${head} of a list of ${container.length}`);
  }
  const copy = (Array.isArray(container) ? [...container] : { ...(container as object) }) as Record<
    string | number,
    unknown
  >;
  const next = withValue(copy[head] ?? {}, rest, value);
  if (next === undefined) {
    if (Array.isArray(copy)) copy.splice(Number(head), 1);
    else delete copy[head];
  } else {
    copy[head] = next;
  }
  return copy;
}
