/**
 * The inventory's YAML with positions: parse once, then find the line and column of any path
 * (`appliances.rp1.ssh.port`) for error messages.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { SourceLocation } from './model.js';

export type YamlPath = readonly (string | number)[];

export interface SyntaxProblem {
  location: SourceLocation;
  message: string;
}

export class YamlSource {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  /** `file` is the path as the user wrote it (messages show it). */
  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    // YAML 1.2 core schema: `yes`/`no` stay strings, `<<` is an ordinary (unknown) key.
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  /** Syntax errors (and duplicate keys), each with its position. */
  syntaxProblems(): SyntaxProblem[] {
    return this.doc.errors.map((error) => ({
      location: this.at(error.pos[0]),
      message: error.message.split('\n')[0] ?? error.code,
    }));
  }

  at(offset: number): SourceLocation {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  /**
   * Where `path` is written: its value, or with `atKey` its key. A path that does not exist (a
   * required field that is missing) points at the deepest part that does.
   */
  locate(path: YamlPath, atKey = false): SourceLocation {
    let node: Node | null | undefined = this.resolve(this.doc.contents);
    let position = node?.range?.[0] ?? 0;
    for (const [i, segment] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(segment),
        );
        if (!pair) break;
        const key = pair.key as Node;
        const value = this.resolve(pair.value as Node | null);
        const keyStart = key.range?.[0];
        // A key without a value (`rp1:`) has an empty scalar there: point at the key instead.
        const valueStart = value && !isEmptyScalar(value) ? value.range?.[0] : undefined;
        position = (atKey && last ? keyStart : (valueStart ?? keyStart)) ?? position;
        node = value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = this.resolve(node.items[segment] as Node | undefined);
        if (!item) break;
        position = item.range?.[0] ?? position;
        node = item;
      } else {
        break;
      }
    }
    return this.at(position);
  }

  private resolve(node: Node | null | undefined): Node | null | undefined {
    return isAlias(node) ? (node.resolve(this.doc) as Node | undefined) : node;
  }
}

const isEmptyScalar = (node: Node): boolean =>
  isScalar(node) && node.range !== undefined && node.range !== null && node.range[0] === node.range[1];
