/**
 * The install's reconnect after the wizard's reboot (src/engine/reboot.ts waits for the new boot):
 * a host key other than the one learnt before the reboot is refused unless the operator said
 * --accept-regenerated-host-key, and every failure says what state the appliance is left in.
 */

import { forgetHostKeys, type HostKeyChange, knownKeys, reconnectAfterReboot } from '../engine/reboot.js';
import { HostError } from '../errors.js';
import type { ApplianceConfig } from '../inventory/model.js';
import type { HostSession } from '../transport/types.js';
import type { InstallContext, InstallTarget } from './install-host.js';
import { InstallFailure } from './install-login.js';

/**
 * Connect after the reboot. A host key other than the recorded one is refused, unless
 * --accept-regenerated-host-key: then this host's old entries go and the offered key is recorded
 * (`hostKey` says which, both fingerprints).
 */
export async function reconnect(
  target: InstallTarget,
  ctx: InstallContext,
  asNew: ApplianceConfig,
  keysKnown: boolean,
  applied: string,
  bootBefore: string | undefined,
): Promise<{ session: HostSession; hostKey?: HostKeyChange }> {
  const { name } = target.appliance;
  const timeout = { timeoutMs: target.rebootTimeoutMs, ...(bootBefore ? { bootBefore } : {}) };
  try {
    return { session: await reconnectAfterReboot(() => ctx.connect(asNew), timeout) };
  } catch (err) {
    if (!(err instanceof HostError && err.reason === 'host-key-mismatch')) {
      const message =
        err instanceof HostError && err.reason === 'reboot-timeout'
          ? `${name}: ${err.message}`
          : (err as Error).message;
      throw new InstallFailure(err instanceof HostError ? err.reason : 'reconnect', message, applied);
    }
    if (!ctx.acceptRegeneratedHostKey) {
      const why = keysKnown
        ? 'it is not the key the wizard generated'
        : 'the keys the wizard generated could not be read before the reboot';
      throw new InstallFailure(
        'host-key-mismatch',
        `${err.message}; ${why}. Check the offered key on the appliance's console before trusting it (--accept-regenerated-host-key records it during an install)`,
        `${applied}; rpctl did not log in again, and known_hosts still has the old key`,
      );
    }
    const before = forgetHostKeys(target.appliance);
    const session = await reconnectAfterReboot(() => ctx.connect(asNew, { acceptNewHostKey: true }), timeout);
    const after = knownKeys(target.appliance);
    const hostKey = {
      before,
      after: after.map((k) => `${k.keyType} ${k.fingerprint}`),
      recordedIn: after[0]?.file ?? '',
      acceptedOnFlag: true,
    };
    ctx.log(
      name,
      `--accept-regenerated-host-key: replaced ${before.join(', ')} with the offered ${hostKey.after.join(', ')} in ${hostKey.recordedIn}`,
    );
    return { session, hostKey };
  }
}
