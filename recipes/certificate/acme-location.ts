/**
 * The HTTP-01 challenge location in pexapp's port-80 server, edited surgically: comments and every
 * other byte kept. Pure: file text in, file text out.
 *
 *   const edited = withChallengeLocation(pexapp);   // undefined: already there
 *
 * pexapp's port-80 server only redirects: `return 301 https://$host$request_uri;` at server level.
 * nginx runs a server-level `return` before it picks a location, so the challenge location could
 * never answer; the redirect moves, unchanged, into `location / { }` beside it.
 */
export const CHALLENGE_DIR = '/var/www/rpctl-acme-challenge';
export const CHALLENGE_PATH = '/.well-known/acme-challenge/';
const MARKER = '# rpctl certificate.acme: HTTP-01 challenges, answered while an order runs';

export class LocationProblem extends Error {}

/** One nginx statement: `head;` or `head { ... }`, with offsets into the text. */
interface Statement {
  depth: number;
  /** offset of the statement's first character */
  start: number;
  /** offset just after its `;` or its closing `}` */
  end: number;
  /** offset just after its `{` (a block) or its `;` */
  bodyStart: number;
  head: string;
  block: boolean;
  /** the statements inside a block */
  children: Statement[];
}

/** nginx's statements, nested; comments and quoted strings skipped. */
export function parseStatements(text: string): Statement[] {
  const root: Statement = {
    depth: -1,
    start: 0,
    end: text.length,
    bodyStart: 0,
    head: '',
    block: true,
    children: [],
  };
  const stack = [root];
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'") {
      if (start < 0) start = i;
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
      continue;
    }
    const parent = stack[stack.length - 1]!;
    if (c === ';' || c === '{') {
      const statement: Statement = {
        depth: stack.length - 1,
        start: start < 0 ? i : start,
        end: i + 1,
        bodyStart: i + 1,
        head: text.slice(start < 0 ? i : start, i).trim(),
        block: c === '{',
        children: [],
      };
      parent.children.push(statement);
      if (c === '{') stack.push(statement);
      start = -1;
    } else if (c === '}') {
      if (stack.length === 1) throw new LocationProblem('unbalanced "}"');
      parent.end = i + 1;
      stack.pop();
      start = -1;
    } else if (start < 0 && !/\s/.test(c)) {
      start = i;
    }
  }
  if (stack.length > 1) throw new LocationProblem('a block is not closed');
  return root.children;
}

const words = (head: string) => head.split(/\s+/);

/** A `listen` on port 80 without ssl: `80`, `1.2.3.4:80`, `[::]:80`, `*:80`. */
function listensOn80(server: Statement): boolean {
  return server.children.some((s) => {
    const [name, address, ...options] = words(s.head);
    return name === 'listen' && /^(?:.*:)?80$/.test(address ?? '') && !options.includes('ssl');
  });
}

function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

export function challengeLocation(indent: string): string {
  const inner = `${indent}${indent.includes('\t') ? '\t' : '    '}`;
  return [
    `${indent}${MARKER}`,
    `${indent}location ^~ ${CHALLENGE_PATH} {`,
    `${inner}alias ${CHALLENGE_DIR}/;`,
    `${inner}default_type text/plain;`,
    `${indent}}`,
  ].join('\n');
}

const isChallengeLocation = (s: Statement) =>
  s.block && words(s.head)[0] === 'location' && s.head.includes(CHALLENGE_PATH);
const isRootLocation = (s: Statement) => s.block && /^location\s+\/$/.test(s.head);

/** pexapp's port-80 server blocks (a problem when there is none). */
function port80Servers(text: string): Statement[] {
  const statements = parseStatements(text);
  const servers = statements.filter((s) => s.block && s.head === 'server' && listensOn80(s));
  if (servers.length === 0) throw new LocationProblem('has no server listening on port 80');
  return servers;
}

/** Whether every port-80 server answers challenges (its location there, no server-level return). */
export function hasChallengeLocation(text: string): boolean {
  return port80Servers(text).every(
    (server) =>
      server.children.some(isChallengeLocation) &&
      !server.children.some((s) => words(s.head)[0] === 'return'),
  );
}

/**
 * pexapp with the challenge location in each port-80 server, or undefined when it is already there.
 * A server-level `return` moves into `location /` (when there is no `location /` yet). Throws
 * LocationProblem when the file cannot be read as nginx configuration or has no port-80 server.
 */
export function withChallengeLocation(text: string): string | undefined {
  if (hasChallengeLocation(text)) return undefined;
  // Edits from the end of the file backwards, so earlier offsets stay valid.
  const edits: { start: number; end: number; text: string }[] = [];
  for (const server of port80Servers(text)) {
    const first = server.children[0];
    const indent = first ? lineIndent(text, first.start) : '    ';
    const returns = server.children.filter((s) => words(s.head)[0] === 'return');
    if (returns.length > 0 && server.children.some(isRootLocation)) {
      throw new LocationProblem('its port-80 server has both a server-level return and a "location /"');
    }
    for (const ret of returns) {
      const original = text.slice(ret.start, ret.end);
      const inner = `${indent}${indent.includes('\t') ? '\t' : '    '}`;
      edits.push({ start: ret.start, end: ret.end, text: `location / {\n${inner}${original}\n${indent}}` });
    }
    if (!server.children.some(isChallengeLocation)) {
      // on lines of its own where the redirect was, else last in the block
      const anchor = returns[0]?.start ?? server.end - 1;
      const lineStart = text.lastIndexOf('\n', anchor - 1) + 1;
      const onItsOwnLine = /^[ \t]*$/.test(text.slice(lineStart, anchor)) && lineStart >= server.bodyStart;
      const block = `${challengeLocation(indent)}\n`;
      edits.push(
        onItsOwnLine
          ? { start: lineStart, end: lineStart, text: block }
          : { start: anchor, end: anchor, text: `\n${block}${anchor === server.end - 1 ? '' : indent}` },
      );
    }
  }
  let edited = text;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    edited = edited.slice(0, edit.start) + edit.text + edited.slice(edit.end);
  }
  return edited;
}
