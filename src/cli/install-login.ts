/**
 * The first login of an install: pexip's expired initial password changed to the new one (the
 * generic login is src/engine/expired-password-login.ts; this says what each outcome means for an
 * install). Also what every install step fails with: InstallFailure carries the state the
 * appliance is left in.
 */
import { changeExpiredLogin } from '../engine/expired-password-login.js';
import { HostError } from '../errors.js';
import type { ApplianceConfig, SecretRef } from '../inventory/model.js';
import { PasswordChangeError } from '../transport/password-change.js';
import type { HostSession } from '../transport/types.js';
import type { InstallContext, InstallTarget } from './install-host.js';

/** A failed install step: `state` says what the appliance is left in. */
export class InstallFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly state: string,
  ) {
    super(message);
    this.name = 'InstallFailure';
  }
}

/** The appliance's inventory with pexip's password as the login and sudo password. */
export const withPassword = (appliance: ApplianceConfig, password: SecretRef): ApplianceConfig => ({
  ...appliance,
  ssh: { ...appliance.ssh, password },
  sudo: { ...appliance.sudo, password },
});

/** Step 1. Resolves true when the password was changed now, false when it had been already. */
export async function changePassword(
  target: InstallTarget,
  ctx: InstallContext,
  screens: string[],
  log: (l: string) => void,
): Promise<boolean> {
  const { name } = target.appliance;
  let session: HostSession;
  try {
    session = await ctx.connect(withPassword(target.appliance, target.initialPassword));
  } catch (err) {
    if (err instanceof HostError && err.reason === 'auth') {
      log('the initial password is refused: logging in with the new one (changed by an earlier install?)');
      return false;
    }
    throw new InstallFailure(
      err instanceof HostError ? err.reason : 'connection',
      err instanceof Error ? err.message : String(err),
      'nothing was changed',
    );
  }
  const passwords = {
    current: ctx.secret(target.initialPassword),
    next: ctx.secret(target.newPassword),
    timeoutMs: 20_000,
  };
  let outcome: 'changed' | 'not-required';
  try {
    outcome = await changeExpiredLogin(session, passwords, screens);
  } catch (err) {
    if (err instanceof PasswordChangeError)
      throw new InstallFailure(
        'password',
        `${name}: ${err.message}`,
        "pexip's password is unchanged (the initial one, still expired)",
      );
    throw err;
  }
  if (outcome === 'not-required')
    throw new InstallFailure(
      'password',
      `${name}: the initial password logs in without a forced change; rpctl sets the new password only when PAM asks for it (change it by hand, or put it in install.newPassword)`,
      'nothing was changed',
    );
  log('password changed');
  return true;
}
