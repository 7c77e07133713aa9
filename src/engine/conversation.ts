/**
 * Answering a program's questions on a terminal. What to answer is decided by a Conversation, a
 * pure object that reads the screen (what the program printed since the last answer, as plain
 * text) and returns the next turn: an answer to type, done, or stop (an unexpected question, a
 * refused answer). The driver only moves text and keeps time; it never guesses.
 *
 *   const end = await converse(terminal, wizardConversation, { what: 'the install wizard', turnTimeoutMs: 60_000 });
 *   if (end.kind === 'stopped') ... end.reason
 *
 * On stop the program is interrupted (Ctrl-C), so nothing more is answered on the caller's behalf.
 */
import type { Terminal } from '../transport/terminal.js';

export type Turn = { kind: 'answer'; text: string } | { kind: 'done' } | { kind: 'stop'; reason: string };

export interface Conversation {
  /** the plain text printed since the last answer; undefined while it is not a whole question yet */
  next(screen: string): Turn | undefined;
}

export type ConversationEnd =
  | { kind: 'done'; answers: number }
  | { kind: 'stopped'; reason: string; answers: number };

export interface ConverseOptions {
  /** what is talked to, for messages: "the install wizard" */
  what: string;
  /** the longest wait for the next question (the program may work between two) */
  turnTimeoutMs: number;
  /** output quiet this long before the screen is read, so a prompt is never half a line (default 25) */
  quietMs?: number;
  /** how long an interrupted program gets to say its last words after Ctrl-C (default 3000) */
  interruptGraceMs?: number;
}

// CSI (colours, cursor, clear screen), OSC (window titles) and the two-byte escapes terminals print.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** Terminal output as plain text: escape sequences removed, \r\n as \n, other \r and bells dropped. */
export function plainText(output: string): string {
  return output
    .replace(ESCAPES, '')
    .replaceAll('\r\n', '\n')
    .replace(/[\r\x07]/g, '');
}

/** Run the conversation until it is done or stops; throws TerminalWaitError on a timeout or a closed terminal. */
export async function converse(
  terminal: Terminal,
  conversation: Conversation,
  options: ConverseOptions,
): Promise<ConversationEnd> {
  let from = terminal.output().length;
  let answers = 0;
  for (;;) {
    const turn = await terminal.waitFor((text) => conversation.next(plainText(text)), {
      what: `the next question of ${options.what}`,
      timeoutMs: options.turnTimeoutMs,
      from,
      quietMs: options.quietMs ?? 25,
    });
    if (turn.kind === 'done') return { kind: 'done', answers };
    if (turn.kind === 'stop') {
      const mark = terminal.output().length;
      terminal.interrupt();
      // Whatever the program says as it ends (its last words belong in the transcript).
      await terminal
        .waitFor((text) => (text.length > 0 ? true : undefined), {
          what: 'the interrupted program to end',
          from: mark,
          quietMs: 300,
          timeoutMs: options.interruptGraceMs ?? 3000,
        })
        .catch(() => {});
      return { kind: 'stopped', reason: turn.reason, answers };
    }
    from = terminal.output().length;
    terminal.write(`${turn.text}\r`);
    answers++;
  }
}
