/** The conversation driver (src/engine/conversation.ts) on a fake terminal. */
import { describe, expect, it } from 'vitest';
import { type Conversation, converse, plainText, type Turn } from '../../../src/engine/conversation.js';
import { type FakeChannel, fakeTerminal } from '../support/fake-pty.js';

describe('plainText', () => {
  it('drops escape sequences and carriage returns', () => {
    expect(plainText('\x1b[H\x1b[2J\x1b[3J=====\r\n\x1b]0;title\x07Hostname?\r\n> ')).toBe(
      '=====\nHostname?\n> ',
    );
    expect(plainText('\x1b[1mbold\x1b[0m\r')).toBe('bold');
  });
});

/** A program asking "Q1?" then "Q2?", printing "Done." after the second answer; Ctrl-C says "Bye". */
function program(input: string, ch: FakeChannel) {
  if (input === '\x03') {
    ch.print('^C\r\nBye\r\n');
    return;
  }
  ch.print(`${input.replace('\r', '')}\r\n`);
  ch.print(input.startsWith('one') ? 'Q2?\r\n> ' : 'Done.\r\n');
}

const answering = (answers: Record<string, string>): Conversation => ({
  next(screen: string): Turn | undefined {
    if (screen.includes('Done.')) return { kind: 'done' };
    const question = /(\w+\?)\n> $/.exec(screen)?.[1];
    if (!question) return undefined;
    const text = answers[question];
    return text === undefined
      ? { kind: 'stop', reason: `unknown question ${question}` }
      : { kind: 'answer', text };
  },
});

describe('converse', () => {
  it('types each answer with Enter until the conversation is done', async () => {
    const { terminal, channel } = await fakeTerminal(program, (ch) => ch.print('\x1b[2JQ1?\r\n> '));
    const end = await converse(terminal, answering({ 'Q1?': 'one', 'Q2?': 'two' }), {
      what: 'the test',
      turnTimeoutMs: 1000,
    });
    expect(end).toEqual({ kind: 'done', answers: 2 });
    expect(channel.written).toEqual(['one\r', 'two\r']);
  });

  it('on stop interrupts the program (Ctrl-C) and keeps its last words in the output', async () => {
    const { terminal, channel } = await fakeTerminal(program, (ch) => ch.print('Q1?\r\n> '));
    const end = await converse(terminal, answering({ 'Q1?': 'one' }), {
      what: 'the test',
      turnTimeoutMs: 1000,
    });
    expect(end).toEqual({ kind: 'stopped', reason: 'unknown question Q2?', answers: 1 });
    expect(channel.written).toEqual(['one\r', '\x03']);
    expect(terminal.output()).toContain('Bye');
  });

  it('fails when no question comes in time', async () => {
    const { terminal } = await fakeTerminal(
      () => {},
      (ch) => ch.print('working...'),
    );
    await expect(converse(terminal, answering({}), { what: 'the test', turnTimeoutMs: 50 })).rejects.toThrow(
      'no the next question of the test within 0.05 s',
    );
  });
});
