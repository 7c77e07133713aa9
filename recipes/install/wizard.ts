/**
 * The install wizard conversation: each question is recognised by its text (never by its
 * position) and answered from the inventory's WizardAnswers. Pure: the engine's `converse`
 * drives it on a terminal.
 *
 *   Hostname?                        -> the inventory's hostname, or [ENTER] when it is the default
 *   Use these default DNS Servers?   -> [ENTER] (yes) when the listed servers are install.dns, else no
 *   DNS Server 2?                    -> install.dns[1], or an empty line after the last one
 *
 * It stops (and the driver interrupts the wizard) on a question it does not know, on a question the
 * inventory has no answer for, when the wizard refuses an answer (`Invalid: ...`), and when sudo
 * refuses the password. Answers are recorded for the report, secrets as the reference's name.
 */
import {
  type AnsweredQuestion,
  type Conversation,
  describeSecretRef,
  type SecretRef,
  sh,
  type Turn,
} from '../../src/engine/contract.js';
import type { WizardAnswers } from './answers.js';
import { type Answer, type AnswerState, answerQuestion } from './questions.js';
import { readWizardScreen, type StepHeader } from './screen.js';

/** pexip's password on a freshly deployed appliance (the 000 guide), expired on delivery. */
export const FACTORY_PASSWORD = 'PEXIP';
/** The wizard's saved answers, in pexip's home: ~/.profile starts the wizard while it is missing. */
export const WIZARD_CONFIG_JSON = '.reverseproxy-config.json';
/** Reruns the wizard (it runs itself under sudo). */
export const WIZARD_COMMAND = sh`installwizard`;

export class V7WizardConversation implements Conversation {
  readonly answered: AnsweredQuestion[] = [];
  /** set once the wizard printed "Applying configuration...": it has saved the answers */
  applying = false;
  /** set when the wizard printed "Rebooting.": it saved and applied the answers */
  applied = false;
  /** the step the wizard is in, for messages */
  step: StepHeader | undefined;
  private readonly state: AnswerState = { routes: 0, managementNetworks: 0, sudoAsked: false };
  private last: AnsweredQuestion | undefined;

  constructor(
    private readonly answers: WizardAnswers,
    private readonly secret: (ref: SecretRef) => string,
  ) {}

  next(screen: string): Turn | undefined {
    if (/^Applying configuration/m.test(screen)) this.applying = true;
    const read = readWizardScreen(screen);
    if (read === undefined) return undefined;
    switch (read.kind) {
      case 'rebooting':
        this.applied = true;
        return { kind: 'done' };
      case 'invalid':
        return this.stop(
          this.last
            ? `the wizard refused the answer to "${this.last.question}" (${this.last.answer}, from ${this.last.from}): Invalid: ${read.reason}`
            : `the wizard said "Invalid: ${read.reason}" before rpctl answered anything`,
        );
      case 'sudo-refused':
        return this.stop(
          `sudo refused the password (${describeSecretRef(this.answers.loginPassword)}): ${read.reason}`,
        );
      case 'failed':
        return this.stop(`the wizard stopped: ${read.reason}`);
      case 'sudo-password':
        if (this.state.sudoAsked) return this.stop('sudo asked for the password twice');
        this.state.sudoAsked = true;
        return this.reply(
          { question: '[sudo] password', from: 'the new password' },
          { secret: this.answers.loginPassword, from: 'the new password' },
        );
      case 'question': {
        if (read.step) this.step = read.step;
        const answer = answerQuestion(read, this.answers, this.state);
        if ('stop' in answer) return this.stop(answer.stop);
        return this.reply({ question: read.question, from: answer.from }, answer);
      }
    }
  }

  private reply(about: { question: string; from: string }, answer: Answer): Turn {
    let text: string;
    let shown: string;
    if ('secret' in answer) {
      text = this.secret(answer.secret);
      shown = `(secret from ${describeSecretRef(answer.secret)})`;
    } else {
      text = answer.text;
      shown = answer.text === '' ? '[ENTER]' : answer.text;
    }
    const record: AnsweredQuestion = {
      ...(this.step ? { step: `${this.step.number} of ${this.step.total}: ${this.step.title}` } : {}),
      question: about.question,
      answer: shown,
      usedDefault: 'text' in answer && answer.text === '' && answer.usesDefault === true,
      from: about.from,
    };
    this.answered.push(record);
    this.last = record;
    return { kind: 'answer', text };
  }

  private stop(reason: string): Turn {
    const where = this.step ? ` (step ${this.step.number} of ${this.step.total}, ${this.step.title})` : '';
    return { kind: 'stop', reason: `${reason}${where}` };
  }
}
