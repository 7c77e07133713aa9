/**
 * Reading one `upstream NAME { ... }` block of an nginx configuration, without touching anything
 * else. The tokenizer follows nginx's own lexer (ngx_conf_read_token): `#` starts a comment only
 * where a token could start, quotes only at a token's start, a word ends at whitespace, `;` or `{`
 * (except `${`), and backslashes escape. Offsets point into the original text, so an editor can
 * splice server lines and keep every other byte.
 *
 *   const block = parseUpstreamBlock(readFileSync('/etc/nginx/sites-available/pexapp', 'latin1'));
 *   block?.servers.map((s) => s.address);   // ['10.40.0.11:443', '10.40.0.12:443']
 */
import { addressKey, isIPv6 } from './schema.js';

/** The text is not an nginx configuration this parser understands (nginx would refuse it too). */
export class NginxSyntaxError extends Error {
  override name = 'NginxSyntaxError';
}

interface Token {
  kind: 'word' | ';' | '{' | '}';
  /** a word's value, quotes and escapes removed */
  text: string;
  start: number;
  end: number;
}

const SPACE = /[ \t\r\n]/;
const ESCAPES: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', t: '\t', r: '\r', n: '\n' };

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

function* tokenize(text: string): Generator<Token> {
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (SPACE.test(c)) {
      i++;
    } else if (c === '#') {
      const eol = text.indexOf('\n', i);
      i = eol === -1 ? text.length : eol;
    } else if (c === ';' || c === '{' || c === '}') {
      yield { kind: c, text: c, start: i, end: i + 1 };
      i++;
    } else {
      const quote = c === '"' || c === "'" ? c : undefined;
      let j = quote ? i + 1 : i;
      let value = '';
      for (;;) {
        if (j >= text.length) {
          if (quote) throw new NginxSyntaxError(`line ${lineOf(text, i)}: unterminated ${quote} string`);
          break;
        }
        const ch = text[j] as string;
        if (ch === '\\' && j + 1 < text.length) {
          const next = text[j + 1] as string;
          value += ESCAPES[next] ?? `\\${next}`;
          j += 2;
          continue;
        }
        if (quote && ch === quote) {
          j++;
          break;
        }
        if (!quote && (SPACE.test(ch) || ch === ';' || (ch === '{' && text[j - 1] !== '$'))) break;
        value += ch;
        j++;
      }
      yield { kind: 'word', text: value, start: i, end: j };
      i = j;
    }
  }
}

export interface ServerParam {
  key: string;
  /** undefined for a flag such as `backup` */
  value?: string;
}

/** Where a server sends requests; `address` in the comparable form of `addressKey`. */
export interface Endpoint {
  address: string;
  port: number;
}

export interface ServerLine {
  /** the address argument as written: `10.40.0.11:443`, `[2001:db8::1]:443`, `unix:/run/x.sock` */
  address: string;
  /** undefined for a unix socket or anything that is not host[:port] */
  endpoint: Endpoint | undefined;
  params: ServerParam[];
  /** the directive, from `server` through its `;` */
  start: number;
  end: number;
  /** the whole line(s), newline included, when the directive has them to itself (a trailing comment allowed) */
  line: { start: number; end: number; indent: string } | undefined;
}

export interface UpstreamDirective {
  name: string;
  args: string[];
  start: number;
  end: number;
}

export interface UpstreamBlock {
  name: string;
  /** from `upstream` through the closing `}` */
  start: number;
  end: number;
  /** offsets of the `{` and the `}` */
  open: number;
  close: number;
  /** every directive directly inside the block, servers included, in order */
  directives: UpstreamDirective[];
  servers: ServerLine[];
}

/** nginx's reading of a server address; no port means 80. */
export function parseEndpoint(address: string): Endpoint | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::([0-9]{1,5}))?$/.exec(address);
  if (!match || address.startsWith('unix:')) return undefined;
  const [, bracketed, plain, portText] = match;
  if (bracketed !== undefined && !isIPv6(bracketed)) return undefined;
  const port = portText === undefined ? 80 : Number(portText);
  return port >= 1 && port <= 65535 ? { address: addressKey(bracketed ?? plain ?? ''), port } : undefined;
}

/** `10.40.0.11:443`, `[2001:db8::1]:443`: an endpoint as nginx takes it. */
export function formatEndpoint(endpoint: Endpoint): string {
  return isIPv6(endpoint.address)
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}

function serverLine(text: string, directive: UpstreamDirective): ServerLine {
  const [address = '', ...rest] = directive.args;
  const params = rest.map((arg): ServerParam => {
    const eq = arg.indexOf('=');
    return eq === -1 ? { key: arg } : { key: arg.slice(0, eq), value: arg.slice(eq + 1) };
  });
  const lineStart = text.lastIndexOf('\n', directive.start - 1) + 1;
  const indent = text.slice(lineStart, directive.start);
  const eol = text.indexOf('\n', directive.end);
  const lineEnd = eol === -1 ? text.length : eol + 1;
  const after = text.slice(directive.end, eol === -1 ? text.length : eol);
  const alone = /^[ \t]*$/.test(indent) && /^[ \t]*(#.*)?\r?$/.test(after);
  return {
    address,
    endpoint: parseEndpoint(address),
    params,
    start: directive.start,
    end: directive.end,
    line: alone ? { start: lineStart, end: lineEnd, indent } : undefined,
  };
}

/**
 * The `upstream NAME` block of an nginx configuration (default `pexip`), or undefined when there
 * is none. Throws NginxSyntaxError when the text does not tokenize, its braces do not balance, or
 * the block is defined twice.
 */
export function parseUpstreamBlock(text: string, name = 'pexip'): UpstreamBlock | undefined {
  let found: UpstreamBlock | undefined;
  let inside: UpstreamBlock | undefined;
  /** nesting level of the next token, and the level of the directives inside the block */
  let depth = 0;
  let insideDepth = -1;
  let pending: Token[] = [];
  for (const token of tokenize(text)) {
    if (token.kind === 'word') {
      pending.push(token);
      continue;
    }
    const [head, ...args] = pending;
    pending = [];
    if (token.kind === '}') {
      if (head)
        throw new NginxSyntaxError(`line ${lineOf(text, token.start)}: "}" ends a directive without ";"`);
      if (depth === 0) throw new NginxSyntaxError(`line ${lineOf(text, token.start)}: unexpected "}"`);
      depth--;
      if (inside && depth === insideDepth - 1) {
        inside.close = token.start;
        inside.end = token.end;
        inside = undefined;
      }
      continue;
    }
    if (!head) throw new NginxSyntaxError(`line ${lineOf(text, token.start)}: unexpected "${token.kind}"`);
    const directive = { name: head.text, args: args.map((a) => a.text), start: head.start, end: token.end };
    if (inside && depth === insideDepth) {
      inside.directives.push(directive);
      if (directive.name === 'server' && token.kind === ';') inside.servers.push(serverLine(text, directive));
    }
    if (token.kind === '{') {
      if (
        !inside &&
        directive.name === 'upstream' &&
        directive.args.length === 1 &&
        directive.args[0] === name
      ) {
        if (found)
          throw new NginxSyntaxError(`line ${lineOf(text, head.start)}: upstream ${name} is defined twice`);
        found = {
          name,
          start: head.start,
          end: -1,
          open: token.start,
          close: -1,
          directives: [],
          servers: [],
        };
        inside = found;
        insideDepth = depth + 1;
      }
      depth++;
    }
  }
  if (pending.length > 0) throw new NginxSyntaxError('unexpected end of file: a directive lacks its ";"');
  if (inside) throw new NginxSyntaxError(`unexpected end of file: upstream ${name} is not closed`);
  if (depth !== 0) throw new NginxSyntaxError('unexpected end of file: a block is not closed');
  return found;
}
