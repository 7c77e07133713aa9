import { describe, expect, it } from 'vitest';
import { jailLocal } from '../../../test/lab/files.js';
import { editJailLocal, JailLocalError, jailValue, parseJailLocal } from '../jail-local.js';

const set = (section: string, key: string, value: string) => ({ section, key, value });
const TUNE = [
  set('DEFAULT', 'bantime', '600'),
  set('DEFAULT', 'findtime', '120'),
  set('pexiprp', 'maxretry', '4'),
];

/** The lines that differ between two texts of the same line count. */
function changedLines(before: string, after: string): [string, string][] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length).toBe(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [[line, b[i]!] as [string, string]]));
}

describe('jail.local editor', () => {
  it('changes only the tuned values of the appliance file, every other byte kept', () => {
    const edit = editJailLocal(jailLocal, TUNE);
    expect(changedLines(jailLocal, edit.text)).toEqual([
      ['bantime = 300', 'bantime = 600'],
      ['findtime = 300', 'findtime = 120'],
      ['maxretry = 10', 'maxretry = 4'],
    ]);
    expect(edit.changes).toEqual([
      { section: 'DEFAULT', key: 'bantime', from: '300', to: '600' },
      { section: 'DEFAULT', key: 'findtime', from: '300', to: '120' },
      { section: 'pexiprp', key: 'maxretry', from: '10', to: '4' },
    ]);
  });

  it('changes nothing when the values are already set', () => {
    const edit = editJailLocal(jailLocal, [
      set('DEFAULT', 'bantime', '300'),
      set('pexiprp', 'maxretry', '10'),
    ]);
    expect(edit.text).toBe(jailLocal);
    expect(edit.changes).toEqual([]);
  });

  it('keeps key=value without blanks, key: value, tabs, indentation and inline ; comments', () => {
    const text = [
      '[DEFAULT]',
      'bantime=300',
      'FindTime:\t300 ; seconds',
      '',
      '[pexiprp]',
      '  maxretry   =   10   ;  the guide says 10',
      '',
    ].join('\n');
    const edit = editJailLocal(text, TUNE);
    expect(edit.text).toBe(
      [
        '[DEFAULT]',
        'bantime=600',
        'FindTime:\t120 ; seconds',
        '',
        '[pexiprp]',
        '  maxretry   =   4   ;  the guide says 10',
        '',
      ].join('\n'),
    );
  });

  it('does not take # after a value for a comment (fail2ban does not) and replaces the whole value', () => {
    const edit = editJailLocal('[pexiprp]\nmaxretry = 10 # ten\n', [set('pexiprp', 'maxretry', '4')]);
    expect(edit.text).toBe('[pexiprp]\nmaxretry = 4\n');
    expect(edit.changes[0]?.from).toBe('10 # ten');
  });

  it('leaves commented-out keys alone and sets the live one', () => {
    const text = '[pexiprp]\n# maxretry = 3\n;maxretry = 5\nmaxretry = 10\n';
    expect(editJailLocal(text, [set('pexiprp', 'maxretry', '4')]).text).toBe(
      '[pexiprp]\n# maxretry = 3\n;maxretry = 5\nmaxretry = 4\n',
    );
  });

  it('adds a missing key after the last key of its section, written like that key', () => {
    const text = [
      '[DEFAULT]',
      '# bans',
      'bantime=300',
      '',
      '# the PIN jail',
      '[pexiprp]',
      '    enabled : true',
      '    logpath : /var/log/nginx/api.access.log',
      '# trailing comment of the jail',
      '',
    ].join('\n');
    const edit = editJailLocal(text, TUNE);
    expect(edit.text).toBe(
      [
        '[DEFAULT]',
        '# bans',
        'bantime=600',
        'findtime=120',
        '',
        '# the PIN jail',
        '[pexiprp]',
        '    enabled : true',
        '    logpath : /var/log/nginx/api.access.log',
        '    maxretry : 4',
        '# trailing comment of the jail',
        '',
      ].join('\n'),
    );
    expect(edit.changes.map((c) => [c.key, c.from])).toEqual([
      ['bantime', '300'],
      ['findtime', undefined],
      ['maxretry', undefined],
    ]);
  });

  it('adds keys right after the header of an empty section, in the order asked', () => {
    const edit = editJailLocal('[DEFAULT]\n\n[pexiprp]\nmaxretry = 10\n', TUNE);
    expect(edit.text).toBe('[DEFAULT]\nbantime = 600\nfindtime = 120\n\n[pexiprp]\nmaxretry = 4\n');
  });

  it('adds a key at the end of a file without a final newline', () => {
    expect(editJailLocal('[pexiprp]\nenabled = true', [set('pexiprp', 'maxretry', '4')]).text).toBe(
      '[pexiprp]\nenabled = true\nmaxretry = 4',
    );
  });

  it('keeps CRLF line endings, also on added lines', () => {
    const edit = editJailLocal('[DEFAULT]\r\nbantime = 300\r\n[pexiprp]\r\nenabled = true\r\n', TUNE);
    expect(edit.text).toBe(
      '[DEFAULT]\r\nbantime = 600\r\nfindtime = 120\r\n[pexiprp]\r\nenabled = true\r\nmaxretry = 4\r\n',
    );
  });

  it('finds keys case-insensitively and sections case-sensitively', () => {
    const text = '[default]\nbantime = 1\n[DEFAULT]\nBANTIME = 300\n';
    expect(editJailLocal(text, [set('DEFAULT', 'bantime', '600')]).text).toBe(
      '[default]\nbantime = 1\n[DEFAULT]\nBANTIME = 600\n',
    );
  });

  it('sets a key everywhere it repeats in its section, so whichever fail2ban reads is right', () => {
    const text = '[pexiprp]\nmaxretry = 10\nmaxretry = 8\n[pexiprp]\nmaxretry = 6\n';
    const edit = editJailLocal(text, [set('pexiprp', 'maxretry', '4')]);
    expect(edit.text).toBe('[pexiprp]\nmaxretry = 4\nmaxretry = 4\n[pexiprp]\nmaxretry = 4\n');
    expect(edit.changes).toHaveLength(3);
  });

  it('drops the continuation lines of a value it replaces, and keeps comments between them', () => {
    const text = '[DEFAULT]\nbantime = 300\n  600\n# note\n  900\nfindtime = 300\n';
    const sections = parseJailLocal(text);
    expect(jailValue(sections, 'DEFAULT', 'bantime')).toBe('300\n600\n900');
    expect(editJailLocal(text, [set('DEFAULT', 'bantime', '120')]).text).toBe(
      '[DEFAULT]\nbantime = 120\n# note\nfindtime = 300\n',
    );
  });

  it('fills an empty value with the spacing the delimiter has', () => {
    expect(editJailLocal('[DEFAULT]\nbantime =\n', [set('DEFAULT', 'bantime', '60')]).text).toBe(
      '[DEFAULT]\nbantime = 60\n',
    );
    expect(editJailLocal('[DEFAULT]\nbantime=\n', [set('DEFAULT', 'bantime', '60')]).text).toBe(
      '[DEFAULT]\nbantime=60\n',
    );
  });

  it('keeps bytes that are not UTF-8 (read as latin1)', () => {
    const text = Buffer.from('# caf\xe9\n[pexiprp]\nmaxretry = 10\n', 'latin1').toString('latin1');
    const edited = editJailLocal(text, [set('pexiprp', 'maxretry', '4')]).text;
    expect(Buffer.from(edited, 'latin1')).toEqual(
      Buffer.from('# caf\xe9\n[pexiprp]\nmaxretry = 4\n', 'latin1'),
    );
  });

  it('refuses a missing section instead of making one up', () => {
    expect(() => editJailLocal('[DEFAULT]\nbantime = 300\n', [set('pexiprp', 'maxretry', '4')])).toThrow(
      new JailLocalError('has no [pexiprp] section'),
    );
  });

  it('reads the value the last section of a name gives', () => {
    const sections = parseJailLocal(jailLocal);
    expect(sections.map((s) => s.name)).toEqual(['DEFAULT', 'sshd', 'pexiprp']);
    expect(jailValue(sections, 'pexiprp', 'maxretry')).toBe('10');
    expect(jailValue(sections, 'pexiprp', 'bantime')).toBeUndefined();
    expect(jailValue(sections, 'sshd', 'logpath')).toBe('%(sshd_log)s');
  });
});
