/**
 * When a certificate.acme certificate must be renewed: pure, from the installed certificate, the
 * issued marker rpctl wrote with it, and the inventory's settings.
 *
 *   renewalReason(settings, ['rp1.example.com'], [leaf], 'directory=...\nleaf=...\n', now)
 *     // 'forced (--force)', 'the installed certificate was not issued through certificate.acme',
 *     // 'its names are ...', 'its key is ...', '12 days left (renewBefore 30)', or undefined
 */
import type { X509Certificate } from 'node:crypto';
import type { AcmeKeyType } from './acme-schema.js';

const DAY_MS = 86_400_000;

export interface RenewalSettings {
  directory: string;
  keyType: AcmeKeyType;
  renewBefore: number;
  force: boolean;
}

export const leafFingerprint = (cert: X509Certificate): string =>
  cert.fingerprint256.replaceAll(':', '').toLowerCase();

export function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4).toLowerCase());
}

export function keyTypeOf(cert: X509Certificate): string {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return `rsa-${details.modulusLength}`;
  if (key.asymmetricKeyType === 'ec')
    return details.namedCurve === 'prime256v1' ? 'ecdsa-p256' : `ec-${details.namedCurve}`;
  return String(key.asymmetricKeyType);
}

export function parseIssued(text: string | undefined): { directory?: string; leaf?: string } {
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(text ?? '')?.[1];
  return { directory: field('directory'), leaf: field('leaf') };
}

/** The certificate's names: hostname.domain first, then the extra ones, once each. */
export function orderNames(fqdn: string, extraNames: readonly string[]): string[] {
  return [...new Set([fqdn, ...extraNames].map((n) => n.toLowerCase()))];
}

/** Why the installed certificate must be renewed now, or undefined. */
export function renewalReason(
  desired: RenewalSettings,
  names: readonly string[],
  installed: X509Certificate[] | string,
  issuedText: string | undefined,
  now: Date,
): string | undefined {
  if (desired.force) return 'forced (--force)';
  if (typeof installed === 'string') return `pexip.pem is ${installed}`;
  const leaf = installed[0];
  if (!leaf) return 'no certificate installed';
  const issued = parseIssued(issuedText);
  if (issued.leaf !== leafFingerprint(leaf))
    return 'the installed certificate was not issued through certificate.acme';
  if (issued.directory !== desired.directory) return `issued by another ACME directory (${issued.directory})`;
  const has = dnsNames(leaf).sort();
  const wants = [...names].sort();
  if (has.join(',') !== wants.join(','))
    return `its names are ${has.join(', ')}; the inventory wants ${wants.join(', ')}`;
  const keyType = keyTypeOf(leaf);
  if (keyType !== desired.keyType) return `its key is ${keyType}; the inventory wants ${desired.keyType}`;
  const daysLeft = Math.floor((new Date(leaf.validTo).getTime() - now.getTime()) / DAY_MS);
  if (daysLeft < desired.renewBefore) return `${daysLeft} days left (renewBefore ${desired.renewBefore})`;
  return undefined;
}
