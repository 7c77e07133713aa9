/**
 * The one quoting helper, proven against a real POSIX shell: every value must come back from
 * `/bin/sh -c "printf %s <quoted>"` byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { quote, sh } from '../../../src/transport/shell.js';

function roundTrip(command: string): Buffer {
  const result = spawnSync('/bin/sh', ['-c', command], { maxBuffer: 1 << 20 });
  expect(result.status, result.stderr.toString()).toBe(0);
  return result.stdout;
}

const HOSTILE = [
  '',
  'plain',
  "it's",
  "''",
  '"double"',
  '$(id)',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal parameter expansion is the point
  '${HOME}',
  '$HOME',
  '`id`',
  'a; reboot',
  'a && b || c',
  'a | b > c < d',
  'line1\nline2',
  '\n',
  'tab\there',
  'back\\slash',
  '\\',
  '*',
  '?[a-z]',
  '~',
  '~root',
  '#comment',
  '-n',
  '--',
  '!event',
  '%s %d',
  'é ü 漢字 🚀',
  '\u0001\u001b[31mred\u001b[0m',
  '\r\n',
  "'; rm -rf / #",
  "x'$(id)'y",
  'a\u00a0b',
];

describe('quote', () => {
  it.each(HOSTILE.map((value) => [JSON.stringify(value), value]))(
    'round-trips %s byte for byte',
    (_, value) => {
      expect(roundTrip(`printf %s ${quote(value)}`)).toEqual(Buffer.from(value, 'utf8'));
    },
  );

  it('round-trips 10 kB values of every printable character, quotes and newlines', () => {
    const alphabet = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('') + '\n\t\'"';
    const value = Array.from({ length: 10_240 }, (_, i) => alphabet[(i * 7) % alphabet.length]).join('');
    expect(roundTrip(`printf %s ${quote(value)}`)).toEqual(Buffer.from(value, 'utf8'));
  });

  it('round-trips several values in one command as separate words', () => {
    const values = ['a b', "c'd", '$(e)', '\n'];
    const out = roundTrip(sh`printf '%s\\0' ${values}`.text);
    expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(values);
  });

  it('leaves safe words unquoted and numbers as they are', () => {
    expect(quote('nginx')).toBe('nginx');
    expect(quote('/etc/nginx/sites-available/pexapp')).toBe('/etc/nginx/sites-available/pexapp');
    expect(quote(443)).toBe('443');
    expect(quote('')).toBe("''");
  });

  it('refuses a NUL byte, which no shell argument can carry', () => {
    expect(() => quote('a\0b')).toThrow(InputError);
  });

  it('nests commands unquoted and quotes every value', () => {
    const inner = sh`cat ${'/tmp/a b'}`;
    expect(sh`${inner} && echo ${'$(id)'}`.text).toBe("cat '/tmp/a b' && echo '$(id)'");
  });
});
