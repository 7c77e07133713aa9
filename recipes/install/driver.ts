/**
 * What the CLI's install runner drives (a FirstLoginWizard, src/engine/one-off.ts): the install
 * wizard of either generation (wizards.ts), the inventory's answers and passwords checked before
 * any appliance is contacted, and what tells an appliance whose wizard has run.
 */
import {
  type ApplianceConfig,
  describeSecretRef,
  type FirstLoginInput,
  type FirstLoginWizard,
  InputError,
  type PreparedWizard,
  type SecretRef,
} from '../../src/engine/contract.js';
import { turnPasswordProblem } from '../turn/schema.js';
import { passwordPolicyProblem } from './answers.js';
import type { InstallSection } from './schema.js';
import { v4SecretProblem } from './v4/answers.js';
import { FACTORY_PASSWORD, WIZARD_COMMAND } from './wizard.js';
import { InstallConversation, installAnswers, WIZARD_DONE_CHECK, wizardState } from './wizards.js';

const DEFAULT_REBOOT_TIMEOUT_S = 300;

/** One appliance's answers and passwords, its secrets resolved; throws InputError. */
function prepare(
  appliance: ApplianceConfig,
  secret: (ref: SecretRef) => string,
  run: FirstLoginInput,
): PreparedWizard {
  const { name } = appliance;
  const answers = installAnswers(appliance);
  const install = appliance.sections.install as InstallSection;
  const newPassword = answers.loginPassword;
  const problem = passwordPolicyProblem(secret(newPassword));
  if (problem)
    throw new InputError(
      `${name}: the new password (${describeSecretRef(newPassword)}) does not meet the appliance's policy: ${problem}`,
    );
  if (run.rerun && answers.declared === 'v4')
    throw new InputError(
      `${name}: install --rerun: the v4 wizard is never rerun (install.generation is v4); reset the appliance, then install`,
    );
  const v4Problem = 'refused' in answers.v4 ? undefined : v4SecretProblem(answers.v4, secret);
  if (v4Problem && (answers.declared === 'v4' || 'refused' in answers.v7))
    throw new InputError(`${name}: ${v4Problem}`);
  // Undeclared: the v7 wizard can still be answered; the v4 one would stop before typing anything.
  if (v4Problem) answers.v4 = { refused: `${name}: ${v4Problem}` };
  const v7 = 'refused' in answers.v7 ? undefined : answers.v7;
  if (v7?.turn && v7.turn.mode === 'permissive') {
    const shared = v7.turn.sharedSecret;
    const sharedProblem = turnPasswordProblem(secret(shared));
    if (sharedProblem)
      throw new InputError(
        `${name}: install.turn.sharedSecret (${describeSecretRef(shared)}): ${sharedProblem.replace('TURN password', 'shared secret')}`,
      );
  }
  return {
    ...(install.initialPassword ? { initialPassword: install.initialPassword } : {}),
    newPassword,
    rebootTimeoutMs: 1000 * (install.rebootTimeout ?? DEFAULT_REBOOT_TIMEOUT_S),
    conversation: () => new InstallConversation(answers, secret, name),
  };
}

export const installWizard: FirstLoginWizard = {
  factoryPassword: FACTORY_PASSWORD,
  prepare,
  stateCommand: WIZARD_DONE_CHECK,
  state: wizardState,
  rerunCommand: WIZARD_COMMAND,
};
