/** Reading the install wizard's screen (recipes/install/screen.ts). */
import { describe, expect, it } from 'vitest';
import { readWizardScreen } from '../screen.js';
import { screen } from './fixtures.js';

describe('readWizardScreen', () => {
  it('reads a question, its default and the step it opens', () => {
    const text = screen('Hostname?', { default: 'proxy', step: [3, 9, 'Hostname and Domain'], echo: 'yes' });
    expect(readWizardScreen(text)).toEqual({
      kind: 'question',
      question: 'Hostname?',
      default: 'proxy',
      listed: [],
      step: { number: 3, total: 9, title: 'Hostname and Domain' },
    });
  });

  it('reads the values of a "Use these default" list, and the last line of a long question', () => {
    const list = screen('Use these default DNS Servers? (Yes/No)', {
      listed: ['DNS Servers', ['10.44.0.9', '10.44.0.10']],
      default: 'Yes',
    });
    expect(readWizardScreen(list)).toMatchObject({
      question: 'Use these default DNS Servers? (Yes/No)',
      listed: ['10.44.0.9', '10.44.0.10'],
    });
    const csp = screen(
      'Content-Security-Policy provides enhanced security...\n\nDo NOT enable if...\n\nEnable Content-Security-Policy? (Yes/No)',
      { default: 'Yes' },
    );
    expect(readWizardScreen(csp)).toMatchObject({
      question: 'Enable Content-Security-Policy? (Yes/No)',
      listed: [],
    });
  });

  it('waits for the prompt: half a screen is nothing yet', () => {
    expect(readWizardScreen('\nHostname?\n')).toBeUndefined();
    expect(readWizardScreen('\nApplying configuration...\n')).toBeUndefined();
    expect(readWizardScreen('Which is the external-facing network interface?\n> nic1\n')).toBeUndefined();
  });

  it('tells refusals, sudo, failures and the end apart', () => {
    expect(readWizardScreen('nic7\nInvalid: Not a valid network interface\n\nWhich...?\n> ')).toEqual({
      kind: 'invalid',
      reason: 'Not a valid network interface',
    });
    expect(readWizardScreen('Last login: today\n[sudo] password for pexip: ')).toEqual({
      kind: 'sudo-password',
    });
    expect(readWizardScreen('\nSorry, try again.\n[sudo] password for pexip: ')).toMatchObject({
      kind: 'sudo-refused',
    });
    expect(readWizardScreen('\nApplying the configuration failed: turnadmin -k failed: x\n')).toEqual({
      kind: 'failed',
      reason: 'Applying the configuration failed: turnadmin -k failed: x',
    });
    expect(readWizardScreen('\nApplying configuration...\n\nRebooting.\n\n')).toEqual({ kind: 'rebooting' });
  });
});
