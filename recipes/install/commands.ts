/**
 * `rpctl install -i INV --limit HOSTS [--rerun]`: the first login and install wizard of freshly
 * deployed appliances, answered from the inventory, then the reboot and a plan. The spec says what
 * the command takes and hands the CLI's install runner the wizard it drives (driver.ts).
 */
import type { CustomCommand, FirstLoginInput } from '../../src/engine/contract.js';
import { installWizard } from './driver.js';

export const install: CustomCommand<FirstLoginInput, 'install'> = {
  kind: 'custom',
  path: ['install'],
  changes: true,
  runner: 'install',
  uses: installWizard,
  defaultConcurrency: 20,
  summary:
    'first login and install wizard of freshly deployed appliances, answered from the inventory; then reboot and plan',
  options: [
    {
      flags: '--rerun',
      description:
        'run the wizard again on installed appliances (saved answers kept where the inventory agrees)',
    },
    {
      flags: '--accept-regenerated-host-key',
      description:
        'after the reboot, record the host key the appliance offers when the keys the wizard generated could not be read before it (this host only)',
    },
  ],
  help: `
Per appliance: log in as pexip with install.initialPassword (default the factory PEXIP), answer
PAM's forced change with install.newPassword (default sudo.password; 8+ characters, 3 of lower,
upper, digit, special: checked here first), log in again; ~/.profile starts the wizard (the v7.1
one or the v4 one, told by its text; install.generation: v4 checks before connecting what the v4
wizard cannot take), whose questions are recognised by their text and answered from the inventory.
An unknown question, an answer the wizard refuses ("Invalid: ...", "Please try again.") or one the
inventory lacks stops it (Ctrl-C, nothing saved) and the host fails with the state it is in. The wizard regenerates the SSH host keys: the
new ones are read over the verified session before the reboot and replace this host's entries in
known_hosts (both fingerprints are printed). After the reboot, every recipe's plan must be empty.
--rerun asks before it reboots installed appliances (--yes does not ask).

Transcripts (secrets redacted): $RPCTL_STATE_DIR/install/RUN-HOST.log (path printed per host).`,
  exitCodes: {
    0: 'installed and in sync',
    1: 'an appliance failed or was unreachable',
    2: 'installed but the plan has changes (run rpctl apply), or --rerun declined',
  },
  examples: [
    "rpctl install -i inventories/prod.yaml --limit 'rp-new-*' --accept-new-host-keys",
    'rpctl install -i inventories/prod.yaml --limit rp1 --rerun --yes',
  ],
  input: ({ options }) => ({
    rerun: Boolean(options.rerun),
    acceptRegeneratedHostKey: Boolean(options.acceptRegeneratedHostKey),
  }),
};
