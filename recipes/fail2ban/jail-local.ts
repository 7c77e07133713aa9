/**
 * Surgical edits of fail2ban's jail.local: set a few keys in named sections and keep every other
 * byte (comments, blank lines, order, spacing, line endings) as it was.
 *
 *   const edit = editJailLocal(text, [
 *     { section: 'DEFAULT', key: 'bantime', value: '600' },
 *     { section: 'pexiprp', key: 'maxretry', value: '4' },
 *   ]);
 *   edit.changes;   // [{ section: 'pexiprp', key: 'maxretry', from: '10', to: '4' }]
 *
 * The file is read the way fail2ban's parser (Python's configparser) reads it:
 * - `[name]` starts a section (names are case-sensitive); `key = value` or `key: value` sets a key
 *   (keys are case-insensitive, spaces around the delimiter optional);
 * - whole-line comments start with `#` or `;`; an inline comment is ` ;...` (fail2ban does not
 *   take `#` inline);
 * - a line indented deeper than its key continues that key's value.
 * A key found in its section gets its value replaced in place (indentation, key spelling, spacing
 * and inline comment kept; continuation lines of the old value dropped). A key repeated in a
 * section is set everywhere it appears. A key missing from its section is added after the last key
 * of that section, written like that key. A missing section is an error: rpctl edits an appliance's
 * file, it does not make one up.
 */

export interface JailSetting {
  section: string;
  key: string;
  value: string;
}

export interface JailChange {
  section: string;
  key: string;
  /** the value before; undefined when the key was added */
  from: string | undefined;
  to: string;
}

export interface JailEdit {
  text: string;
  changes: JailChange[];
}

export class JailLocalError extends Error {}

interface Line {
  start: number;
  /** end of the line's content, before \r\n or \n */
  end: number;
  /** offset of the next line (after the newline) */
  next: number;
  text: string;
}

export interface KeyLine {
  /** lower case, as configparser stores it */
  key: string;
  line: Line;
  /** the value's position inside the file (without inline comment and trailing blanks) */
  valueStart: number;
  valueEnd: number;
  /** the whole value as fail2ban reads it (continuations joined with \n) */
  value: string;
  /** lines that continue the value */
  continuations: Line[];
}

export interface JailSection {
  name: string;
  header: Line;
  keys: KeyLine[];
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const next = newline === -1 ? text.length : newline + 1;
    let end = newline === -1 ? text.length : newline;
    if (text[end - 1] === '\r') end--;
    lines.push({ start, end, next, text: text.slice(start, end) });
    start = next;
  }
  return lines;
}

/** Where an inline comment (` ;` or a tab before `;`) starts in a line, or the line's length. */
function inlineCommentAt(text: string): number {
  const match = /[ \t];/.exec(text);
  return match ? match.index : text.length;
}

const indentOf = (text: string): number => text.length - text.trimStart().length;
const isComment = (trimmed: string): boolean => trimmed.startsWith('#') || trimmed.startsWith(';');

/** The sections of a jail.local, in file order (a name may appear twice). */
export function parseJailLocal(text: string): JailSection[] {
  const sections: JailSection[] = [];
  let current: JailSection | undefined;
  let lastKey: KeyLine | undefined;
  let keyIndent = 0;
  for (const line of splitLines(text)) {
    const trimmed = line.text.trim();
    if (trimmed === '' || isComment(trimmed)) continue;
    const content = line.text.slice(0, inlineCommentAt(line.text));
    const indent = indentOf(line.text);
    if (lastKey && indent > keyIndent) {
      lastKey.continuations.push(line);
      lastKey.value += `\n${content.trim()}`;
      continue;
    }
    lastKey = undefined;
    keyIndent = indent;
    const header = /^\[(.+)\]/.exec(content.trim());
    if (header) {
      current = { name: header[1]!, header: line, keys: [] };
      sections.push(current);
      continue;
    }
    const delimiter = /[=:]/.exec(content);
    if (!current || !delimiter) continue; // fail2ban itself refuses these lines; not ours to judge
    const afterDelimiter = line.start + delimiter.index + 1;
    const rawValue = content.slice(delimiter.index + 1);
    const valueStart = afterDelimiter + (rawValue.length - rawValue.trimStart().length);
    const valueEnd = Math.max(valueStart, line.start + content.trimEnd().length);
    lastKey = {
      key: content.slice(0, delimiter.index).trim().toLowerCase(),
      line,
      valueStart,
      valueEnd,
      value: text.slice(valueStart, valueEnd),
      continuations: [],
    };
    current.keys.push(lastKey);
  }
  return sections;
}

/** The value `key` has in the last `[section]` that sets it (configparser: the last one wins). */
export function jailValue(
  sections: readonly JailSection[],
  section: string,
  key: string,
): string | undefined {
  const wanted = key.toLowerCase();
  const found = sections
    .filter((s) => s.name === section)
    .flatMap((s) => s.keys)
    .filter((k) => k.key === wanted);
  return found.at(-1)?.value;
}

interface Splice {
  start: number;
  end: number;
  text: string;
}

/** `key = value` written like `model` (indentation and spacing around the delimiter). */
function renderLike(model: KeyLine | undefined, key: string, value: string, text: string): string {
  if (!model) return `${key} = ${value}`;
  const raw = text.slice(model.line.start, model.valueStart);
  const indent = raw.slice(0, indentOf(raw));
  let delimiter = /[ \t]*[=:][ \t]*$/.exec(raw)?.[0] ?? ' = ';
  // `key =` with an empty value: give the new value the blank the other side has
  if (model.valueStart === model.valueEnd && /^[ \t]/.test(delimiter) && !/[ \t]$/.test(delimiter))
    delimiter += ' ';
  return `${indent}${key}${delimiter}${value}`;
}

/** Set `settings` in `text`; see the module comment for the rules. Throws JailLocalError for a missing section. */
export function editJailLocal(text: string, settings: readonly JailSetting[]): JailEdit {
  const sections = parseJailLocal(text);
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const firstKey = sections.flatMap((s) => s.keys)[0];
  const splices: Splice[] = [];
  const changes: JailChange[] = [];
  for (const setting of settings) {
    const matching = sections.filter((s) => s.name === setting.section);
    if (matching.length === 0) throw new JailLocalError(`has no [${setting.section}] section`);
    const wanted = setting.key.toLowerCase();
    const present = matching.flatMap((s) => s.keys).filter((k) => k.key === wanted);
    for (const found of present) {
      if (found.value === setting.value) continue;
      const from = found.value;
      // `key =` with an empty value: as many blanks after the delimiter as before it
      const head = text.slice(found.line.start, found.valueStart);
      const needsBlank = found.valueStart === found.valueEnd && /[ \t][=:]$/.test(head);
      splices.push({
        start: found.valueStart,
        end: found.valueEnd,
        text: `${needsBlank ? ' ' : ''}${setting.value}`,
      });
      for (const line of found.continuations) splices.push({ start: line.start, end: line.next, text: '' });
      changes.push({ section: setting.section, key: setting.key, from, to: setting.value });
    }
    if (present.length > 0) continue;
    const section = matching.at(-1)!;
    const last = section.keys.at(-1);
    const after = last ? (last.continuations.at(-1) ?? last.line) : section.header;
    const line = renderLike(last ?? firstKey, setting.key, setting.value, text);
    // After the line's newline; a last line without one gets the newline before the new line.
    const insert =
      after.next > after.end
        ? { at: after.next, text: `${line}${newline}` }
        : { at: after.end, text: `${newline}${line}` };
    splices.push({ start: insert.at, end: insert.at, text: insert.text });
    changes.push({ section: setting.section, key: setting.key, from: undefined, to: setting.value });
  }
  // From the end, so earlier offsets stay valid; insertions at one point keep the settings' order.
  const ordered = splices
    .map((splice, index) => ({ splice, index }))
    .sort((a, b) => b.splice.start - a.splice.start || b.index - a.index);
  const edited = ordered.reduce(
    (out, { splice }) => out.slice(0, splice.start) + splice.text + out.slice(splice.end),
    text,
  );
  return { text: edited, changes };
}
