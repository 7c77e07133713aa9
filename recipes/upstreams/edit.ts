/**
 * Surgical edits of the `server` lines of an upstream block: remove the servers no longer wanted,
 * rewrite a kept server only when a parameter the inventory declares differs, and add new servers
 * after the last server line with its indentation. Every other byte stays as it was.
 *
 *   const block = parseUpstreamBlock(text)!;
 *   const edit = editUpstreamServers(text, block, [{ address: '10.40.0.12', port: 443 }]);
 *   edit.added;    // ['10.40.0.12:443']
 */
import {
  type Endpoint,
  formatEndpoint,
  type ServerLine,
  type ServerParam,
  type UpstreamBlock,
} from './nginx-upstream.js';
import type { UpstreamNode } from './schema.js';

/** What the install wizard writes on every server line. */
export const WIZARD_CONVENTION: readonly ServerParam[] = [
  { key: 'weight', value: '1' },
  { key: 'max_fails', value: '0' },
];

// Per-node state, never copied from one server to another.
const NODE_FLAGS = new Set(['backup', 'down']);

const renderParams = (params: readonly ServerParam[]): string =>
  params.map((p) => (p.value === undefined ? p.key : `${p.key}=${p.value}`)).join(' ');

const endpointKey = (endpoint: Endpoint): string => `${endpoint.address} ${endpoint.port}`;

/**
 * The parameters new servers get: those of the existing server lines when they all agree
 * (`backup` and `down` aside), otherwise the wizard's `weight=1 max_fails=0`.
 */
export function serverConvention(block: UpstreamBlock): readonly ServerParam[] {
  const shared = block.servers.map((s) => s.params.filter((p) => !NODE_FLAGS.has(p.key)));
  const first = shared[0];
  if (first === undefined) return WIZARD_CONVENTION;
  const agree = shared.every((params) => renderParams(params) === renderParams(first));
  return agree ? first : WIZARD_CONVENTION;
}

/** `base` with the parameters the node declares set (values replaced in place, flags added or dropped). */
export function applyNodeParams(base: readonly ServerParam[], node: UpstreamNode): ServerParam[] {
  const params = base.map((p) => ({ ...p }));
  const set = (key: string, value: string | boolean | number | undefined) => {
    if (value === undefined) return;
    const index = params.findIndex((p) => p.key === key);
    if (value === false) {
      if (index !== -1) params.splice(index, 1);
      return;
    }
    const param = value === true ? { key } : { key, value: String(value) };
    if (index === -1) params.push(param);
    else params[index] = param;
  };
  set('weight', node.weight);
  set('max_fails', node.maxFails);
  set('fail_timeout', node.failTimeout);
  set('backup', node.backup);
  set('down', node.down);
  return params;
}

/** `server 10.40.0.12:443 weight=1 max_fails=0;`, without indentation or newline. */
export function renderServerLine(node: UpstreamNode, convention: readonly ServerParam[]): string {
  const params = renderParams(applyNodeParams(convention, node));
  return `server ${formatEndpoint(node)}${params ? ` ${params}` : ''};`;
}

export interface ServerEdit {
  /** the whole new text */
  text: string;
  /** endpoints as nginx writes them, in the order of the result */
  added: string[];
  removed: string[];
  updated: string[];
  /** the endpoints of the result, in order */
  result: string[];
}

interface Splice {
  start: number;
  end: number;
  text: string;
}

/** `anchor`: new servers get inserted right after this one, so its end must stay where it is. */
function removal(text: string, server: ServerLine, anchor: boolean): Splice {
  if (server.line) return { start: server.line.start, end: server.line.end, text: '' };
  // It shares its line: take the directive and the blanks that separate it from its neighbour.
  let start = server.start;
  while (text[start - 1] === ' ' || text[start - 1] === '\t') start--;
  const indentation = start === 0 || text[start - 1] === '\n';
  if (!indentation) return { start, end: server.end, text: '' };
  let end = server.end;
  while (!anchor && (text[end] === ' ' || text[end] === '\t')) end++;
  return { start: server.start, end, text: '' };
}

function insertion(text: string, block: UpstreamBlock, lines: string[]): Splice {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const last = block.servers.at(-1);
  if (last?.line) {
    const at = last.line.end;
    return { start: at, end: at, text: lines.map((l) => `${last.line?.indent}${l}${newline}`).join('') };
  }
  if (last) return { start: last.end, end: last.end, text: lines.map((l) => ` ${l}`).join('') };
  // No server line yet: before the closing brace, as a line of its own when the brace has one.
  const braceLineStart = text.lastIndexOf('\n', block.close - 1) + 1;
  if (/^[ \t]*$/.test(text.slice(braceLineStart, block.close))) {
    const firstDirective = block.directives[0];
    const lineStart = firstDirective ? text.lastIndexOf('\n', firstDirective.start - 1) + 1 : -1;
    const candidate = firstDirective ? text.slice(lineStart, firstDirective.start) : '';
    const indent = /^[ \t]+$/.test(candidate) ? candidate : '    ';
    return {
      start: braceLineStart,
      end: braceLineStart,
      text: lines.map((l) => `${indent}${l}${newline}`).join(''),
    };
  }
  return { start: block.close, end: block.close, text: lines.map((l) => `${l} `).join('') };
}

/** Edit the server lines of `block` (parsed from `text`) so they serve exactly `nodes`. */
export function editUpstreamServers(
  text: string,
  block: UpstreamBlock,
  nodes: readonly UpstreamNode[],
): ServerEdit {
  const wanted = new Map(nodes.map((node) => [endpointKey(node), node]));
  const kept = new Set<string>();
  const splices: Splice[] = [];
  const edit: ServerEdit = { text, added: [], removed: [], updated: [], result: [] };

  const present = new Set(block.servers.flatMap((s) => (s.endpoint ? [endpointKey(s.endpoint)] : [])));
  const fresh = nodes.filter((node) => !present.has(endpointKey(node)));
  const anchor = fresh.length > 0 ? block.servers.at(-1) : undefined;
  for (const server of block.servers) {
    const key = server.endpoint ? endpointKey(server.endpoint) : undefined;
    const node = key === undefined ? undefined : wanted.get(key);
    // A second line for a node already kept is a duplicate: nginx would count it twice.
    if (key === undefined || node === undefined || kept.has(key)) {
      splices.push(removal(text, server, server === anchor));
      edit.removed.push(server.address);
      continue;
    }
    kept.add(key);
    edit.result.push(server.address);
    const params = applyNodeParams(server.params, node);
    if (renderParams(params) !== renderParams(server.params)) {
      const rendered = `server ${server.address}${params.length ? ` ${renderParams(params)}` : ''};`;
      splices.push({ start: server.start, end: server.end, text: rendered });
      edit.updated.push(server.address);
    }
  }

  if (fresh.length > 0) {
    const convention = serverConvention(block);
    splices.push(
      insertion(
        text,
        block,
        fresh.map((node) => renderServerLine(node, convention)),
      ),
    );
    for (const node of fresh) {
      edit.added.push(formatEndpoint(node));
      edit.result.push(formatEndpoint(node));
    }
  }

  // From the end, so earlier offsets stay valid; an insertion sorts after a removal ending where it starts.
  splices.sort((a, b) => b.start - a.start);
  edit.text = splices.reduce((out, s) => out.slice(0, s.start) + s.text + out.slice(s.end), text);
  return edit;
}
