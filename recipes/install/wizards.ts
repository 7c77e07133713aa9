/**
 * Which install wizard an appliance runs, told by its text, and the answers for each:
 *
 *   v7.1 (000 guide)   boxed "Step N of M" headers, questions ending in "> "  wizard.ts
 *   v4   (002 guide)   its title, then prompts ending in ": "                 v4/wizard.ts
 *
 * Both start the same way: the login shell's ~/.profile runs the wizard under sudo, which asks for
 * the new password (on v4 after the Pexip banner). InstallConversation answers that, then hands the
 * screen to the conversation of the wizard it recognises. Both answer sets come from the same
 * inventory sections; install.generation says in advance which one applies, so what that wizard
 * cannot take is refused before any appliance is contacted. Without it, an answer set the
 * inventory cannot give is refused when its wizard shows up, before anything is typed into it.
 */
import {
  type AnsweredQuestion,
  type ApplianceConfig,
  describeSecretRef,
  InputError,
  type SecretRef,
  sh,
  type Turn,
  type WizardConversation,
  type WizardState,
} from '../../src/engine/contract.js';
import { APPLIANCE_FILES, PEXAPP } from '../appliance/paths.js';
import { type WizardAnswers, wizardAnswers } from './answers.js';
import type { InstallSection } from './schema.js';
import { readWizardScreen } from './screen.js';
import { type V4Answers, v4WizardAnswers } from './v4/answers.js';
import { looksLikeV4 } from './v4/screen.js';
import { V4WizardConversation } from './v4/wizard.js';
import { V7WizardConversation, WIZARD_CONFIG_JSON } from './wizard.js';

export type WizardGeneration = 'v4' | 'v7';
/** Why the inventory cannot answer one generation's wizard (the InputError's message). */
export type Refused = { refused: string };

export interface InstallAnswers {
  /** install.generation, when the inventory says */
  declared?: WizardGeneration;
  v7: WizardAnswers | Refused;
  v4: V4Answers | Refused;
  /** pexip's password once changed: what sudo asks for */
  loginPassword: SecretRef;
}

function attempt<T>(answer: () => T): T | Refused {
  try {
    return answer();
  } catch (err) {
    if (err instanceof InputError) return { refused: err.message };
    throw err;
  }
}

/** Both wizards' answers; throws InputError when the declared wizard (or, undeclared, neither) can be answered. */
export function installAnswers(appliance: ApplianceConfig): InstallAnswers {
  const declared = (appliance.sections.install as InstallSection | undefined)?.generation;
  const other = (generation: WizardGeneration): Refused => ({
    refused: `${appliance.name}: install.generation is ${declared}, not ${generation}`,
  });
  const v7 = declared === 'v4' ? other('v7') : attempt(() => wizardAnswers(appliance));
  const v4 = declared === 'v7' ? other('v4') : attempt(() => v4WizardAnswers(appliance));
  const usable = [v7, v4].find((answers): answers is WizardAnswers | V4Answers => !('refused' in answers));
  if (!usable) {
    const own = declared === 'v4' ? v4 : v7;
    throw new InputError((own as Refused).refused);
  }
  return { ...(declared ? { declared } : {}), v7, v4, loginPassword: usable.loginPassword };
}

/**
 * Prints which wizard has completed on the appliance: v7 (its saved answers), v4 (a v4 appliance,
 * with rfc5766-turn-server, whose wizard wrote pexapp) or fresh.
 */
export const WIZARD_DONE_CHECK = sh`if test -e ${WIZARD_CONFIG_JSON}; then echo v7; elif test -e ${APPLIANCE_FILES.rfc5766Init} && test -e ${PEXAPP}; then echo v4; else echo fresh; fi`;

/** WIZARD_DONE_CHECK's output read: a v4 wizard that has run is never rerun (the 002 guide resets). */
export function wizardState(output: string): WizardState {
  const saved = `~/${WIZARD_CONFIG_JSON}`;
  switch (output.trim()) {
    case 'v7':
      return { kind: 'installed', evidence: `${saved} exists` };
    case 'v4':
      return {
        kind: 'installed',
        evidence: 'pexapp exists',
        neverRerun:
          'the v4 wizard has already run (pexapp exists); it is never rerun: reset the appliance (reinstall it or restore the snapshot taken after deploying the OVA), then install',
      };
    default:
      return { kind: 'fresh', evidence: `no ${saved}` };
  }
}

const SHELL_PROMPT = /(^|\n)[^\n]*[$#] $/;

/** Answers sudo's password prompt, then the wizard it recognises by its text. */
export class InstallConversation implements WizardConversation {
  /** the wizard recognised, once it has shown its first question */
  recognised: WizardGeneration | undefined;
  private chosen: V7WizardConversation | V4WizardConversation | undefined;
  private readonly sudo: AnsweredQuestion[] = [];

  constructor(
    private readonly answers: InstallAnswers,
    private readonly secret: (ref: SecretRef) => string,
    private readonly name: string,
  ) {}

  get answered(): AnsweredQuestion[] {
    return [...this.sudo, ...(this.chosen?.answered ?? [])];
  }

  /** the wizard has begun applying its answers */
  get applying(): boolean {
    return this.chosen?.applying ?? false;
  }

  next(screen: string): Turn | undefined {
    if (this.chosen) return this.chosen.next(screen);
    const v7 = readWizardScreen(screen);
    if (v7?.kind === 'sudo-refused')
      return stop(
        `sudo refused the password (${describeSecretRef(this.answers.loginPassword)}): ${v7.reason}`,
      );
    if (v7?.kind === 'sudo-password') {
      if (this.sudo.length > 0) return stop('sudo asked for the password twice');
      const from = 'the new password';
      this.sudo.push({
        question: '[sudo] password',
        answer: `(secret from ${describeSecretRef(this.answers.loginPassword)})`,
        usedDefault: false,
        from,
      });
      return { kind: 'answer', text: this.secret(this.answers.loginPassword) };
    }
    if (v7?.kind === 'failed') return stop(`the wizard stopped: ${v7.reason}`);
    if (looksLikeV4(screen)) return this.choose('v4', screen);
    if (v7 !== undefined) return this.choose('v7', screen);
    if (SHELL_PROMPT.test(screen))
      return stop(
        'the login shell started no install wizard: a shell prompt instead (has the wizard run already?)',
      );
    return undefined;
  }

  private choose(generation: WizardGeneration, screen: string): Turn | undefined {
    this.recognised = generation;
    const { declared } = this.answers;
    if (declared && declared !== generation)
      return stop(
        `install.generation is ${declared} but the appliance runs the ${generation} install wizard; nothing was answered to it`,
      );
    const answers = this.answers[generation];
    if ('refused' in answers)
      return stop(
        `the appliance runs the ${generation} install wizard, which the inventory cannot answer: ${answers.refused.replace(`${this.name}: `, '')} (install.generation: ${generation} checks this before connecting); nothing was answered to it`,
      );
    this.chosen =
      'address' in answers // V4Answers: one NIC's address; WizardAnswers: a network
        ? new V4WizardConversation(answers, this.secret)
        : new V7WizardConversation(answers, this.secret);
    return this.chosen.next(screen);
  }
}

const stop = (reason: string): Turn => ({ kind: 'stop', reason });
