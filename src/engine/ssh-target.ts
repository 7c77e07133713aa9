/**
 * An appliance as transport sees it: the inventory's connection settings, with what is particular
 * to a Pexip appliance (its administrator account `pexip`) and the secrets read on demand.
 *
 *   const session = await openSession(sshTarget(appliance, secret), options);
 */
import { HostError } from '../errors.js';
import type { ApplianceConfig, SecretRef } from '../inventory/model.js';
import type { SshTarget } from '../transport/target.js';

/** The account an appliance is managed with, unless the inventory or ~/.ssh/config names another. */
export const APPLIANCE_USER = 'pexip';

export type SecretLookup = (ref: SecretRef) => string;

/** For callers that only need where a target is (its address, port, known_hosts), not how to log in. */
const noSecrets: SecretLookup = () => {
  throw new Error('internal: this SSH target was made without secrets');
};

export function sshTarget(appliance: ApplianceConfig, secret: SecretLookup = noSecrets): SshTarget {
  const { name, ssh, sudo } = appliance;
  const { passphrase, password, ...settings } = ssh;
  return {
    ...settings,
    name,
    defaultUser: APPLIANCE_USER,
    ...(passphrase ? { passphrase: () => secret(passphrase) } : {}),
    ...(password ? { password: () => secret(password) } : {}),
    sudoPassword: (user) => {
      if (!sudo.password) {
        throw new HostError(
          'sudo-auth',
          `${name}: sudo needs the password of ${user}, but the inventory sets no sudo.password`,
        );
      }
      return secret(sudo.password);
    },
  };
}
