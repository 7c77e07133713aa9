/**
 * The v4 install wizard conversation: each prompt recognised by its text (questions.ts)
 * and answered from V4Answers. Pure: the engine's `converse` drives it on a terminal. It stops (and
 * the driver interrupts the wizard, which then writes nothing) on a prompt it does not know and
 * when the wizard refuses an answer ("... Please try again."). The TURN password is typed after
 * its username but recorded as the reference's name only.
 */
import {
  type AnsweredQuestion,
  type Conversation,
  describeSecretRef,
  type SecretRef,
  type Turn,
} from '../../../src/engine/contract.js';
import type { StepHeader } from '../screen.js';
import type { V4Answers } from './answers.js';
import { answerV4Prompt, type V4Answer, type V4State } from './questions.js';
import { readV4Screen, V4_APPLYING } from './screen.js';

export class V4WizardConversation implements Conversation {
  readonly answered: AnsweredQuestion[] = [];
  /** set once the wizard printed "Writing configuration...": it applies the answers */
  applying = false;
  /** set when the wizard said it reboots */
  applied = false;
  step: StepHeader | undefined;
  private readonly state: V4State = { nodes: 0 };
  private last: AnsweredQuestion | undefined;

  constructor(
    private readonly answers: V4Answers,
    private readonly secret: (ref: SecretRef) => string,
  ) {}

  next(screen: string): Turn | undefined {
    if (V4_APPLYING.test(screen)) this.applying = true;
    const read = readV4Screen(screen);
    if (read === undefined) return undefined;
    switch (read.kind) {
      case 'rebooting':
        this.applied = true;
        return { kind: 'done' };
      case 'invalid':
        return this.stop(
          this.last
            ? `the wizard refused the answer to "${this.last.question}" (${this.last.answer}, from ${this.last.from}): ${read.reason}`
            : `the wizard said "${read.reason}" before rpctl answered anything`,
        );
      case 'failed':
        return this.stop(`the wizard stopped: ${read.reason}`);
      case 'question': {
        const found = answerV4Prompt(read.prompt, this.answers, this.state);
        if ('stop' in found) return this.stop(found.stop);
        this.step = found.step;
        return this.reply(read.prompt, found.answer);
      }
    }
  }

  private reply(question: string, answer: V4Answer): Turn {
    const { secretAfter } = answer;
    const record: AnsweredQuestion = {
      ...(this.step ? { step: `${this.step.number} of ${this.step.total}: ${this.step.title}` } : {}),
      question,
      answer: secretAfter
        ? `${answer.text} (secret from ${describeSecretRef(secretAfter)})`
        : answer.text === ''
          ? '[ENTER]'
          : answer.text,
      usedDefault: false,
      from: answer.from,
    };
    this.answered.push(record);
    this.last = record;
    return { kind: 'answer', text: secretAfter ? `${answer.text} ${this.secret(secretAfter)}` : answer.text };
  }

  private stop(reason: string): Turn {
    const where = this.step ? ` (step ${this.step.number} of ${this.step.total}, ${this.step.title})` : '';
    return { kind: 'stop', reason: `${reason}${where}` };
  }
}
