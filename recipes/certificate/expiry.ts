/**
 * The certificate's drift check: the expiry of the certificate the appliance really serves, read
 * by a TLS handshake with SNI = the name the appliance reports (a file on disk nginx has not
 * loaded would not count).
 */
import type { DriftCheck, HostFacts } from '../../src/engine/contract.js';
import { applianceFacts } from '../appliance/facts.js';
import { HTTPS_PORT } from './recipe.js';
import { tlsHandshake } from './tls-probe.js';

const HANDSHAKE_TIMEOUT_MS = 5000;

/** The appliance's FQDN (hostname.domain), which its certificate must cover. */
export function serverName(facts: HostFacts, host: string): string | undefined {
  try {
    return applianceFacts(facts, host).fqdn;
  } catch {
    return undefined;
  }
}

export const certificateExpiry: DriftCheck = {
  name: 'certificate-expiry',
  async run({ host, address, facts }, { now, warnDays }) {
    const name = serverName(facts, host);
    if (!name) return undefined;
    const seen = await tlsHandshake(address, HTTPS_PORT, name, HANDSHAKE_TIMEOUT_MS);
    if (!seen.notAfter) return undefined;
    const secondsLeft = Math.floor((Date.parse(seen.notAfter) - now.getTime()) / 1000);
    const daysLeft = Math.floor(secondsLeft / 86_400);
    return { notAfter: seen.notAfter, daysLeft, secondsLeft, warn: daysLeft < warnDays };
  },
};
