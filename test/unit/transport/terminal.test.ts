/** HostSession.terminal: a program on a PTY channel, read with waitFor (src/transport/terminal.ts). */
import { describe, expect, it } from 'vitest';
import { sh } from '../../../src/transport/shell.js';
import { TerminalWaitError } from '../../../src/transport/terminal.js';
import { fakeTerminal } from '../support/fake-pty.js';

const prompt = (text: string) => (text.endsWith('> ') ? text : undefined);

describe('terminal', () => {
  it('runs the login shell, or a command on a PTY', async () => {
    expect((await fakeTerminal(() => {})).command).toBeUndefined();
    expect((await fakeTerminal(() => {}, undefined, { command: sh`installwizard` })).command).toBe(
      'installwizard',
    );
  });

  it('waits for a match in the output from an offset, decoding UTF-8 split across chunks', async () => {
    const { terminal } = await fakeTerminal(
      (input, ch) => ch.print(`got ${input.trim()}\r\n> `),
      (ch) => {
        const text = Buffer.from('Grüße\r\n> ');
        ch.emit('data', text.subarray(0, 3)); // "Gr" and half of "ü"
        ch.emit('data', text.subarray(3));
      },
    );
    expect(await terminal.waitFor(prompt, { what: 'a prompt', timeoutMs: 1000 })).toBe('Grüße\r\n> ');
    const from = terminal.output().length;
    terminal.write('yes\r');
    expect(await terminal.waitFor(prompt, { what: 'a prompt', timeoutMs: 1000, from })).toBe('got yes\r\n> ');
  });

  it('tests only once the output has been quiet, so a prompt is never half a line', async () => {
    const { terminal } = await fakeTerminal(
      () => {},
      (ch) => {
        ch.print('Which is the external-facing network interface?\n> ');
        setTimeout(() => ch.print('nic1\n\nIP Address?\n> '), 5);
      },
    );
    const screen = await terminal.waitFor(prompt, { what: 'a prompt', timeoutMs: 1000, quietMs: 30 });
    expect(screen).toContain('IP Address?');
  });

  it('rejects when the program ends first, or nothing matches in time; Ctrl-C is ETX', async () => {
    const ended = await fakeTerminal(
      () => {},
      (ch) => ch.end(0),
    );
    const closed = ended.terminal.waitFor(prompt, { what: 'the first question', timeoutMs: 1000 });
    await expect(closed).rejects.toThrow(
      new TerminalWaitError('closed', 'the terminal closed before the first question'),
    );
    expect(await ended.terminal.exited).toEqual({ code: 0 });
    expect(ended.terminal.closed()).toBe(true);

    const silent = await fakeTerminal(() => {});
    const timeout = silent.terminal.waitFor(prompt, { what: 'the first question', timeoutMs: 50 });
    await expect(timeout).rejects.toThrow('no the first question within 0.05 s');
    silent.terminal.interrupt();
    expect(silent.channel.written).toEqual(['\x03']);
  });
});
