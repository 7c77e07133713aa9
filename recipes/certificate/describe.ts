/**
 * Reading certificates back from facts (only their CERTIFICATE blocks ever leave the appliance),
 * and the certificate's part of what `rpctl facts` prints: identity, chain and expiry.
 */
import { X509Certificate } from 'node:crypto';
import { type HostFacts, oneLine } from '../../src/engine/contract.js';
import { PEXIP_PEM } from '../appliance/paths.js';

/** The certificates of a PEM text, leaf first. */
export function pemCertificates(text: string | undefined): X509Certificate[] {
  const blocks = text?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

export function describeCertificate(cert: X509Certificate, now: Date) {
  const notAfter = new Date(cert.validTo);
  return {
    subject: cert.subject.replaceAll('\n', ', '),
    issuer: cert.issuer.replaceAll('\n', ', '),
    subjectAltNames: cert.subjectAltName?.split(', ') ?? [],
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
    fingerprint256: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
  };
}

/** `rpctl facts`: the served certificate (null when there is none), or why it cannot be read. */
export function describeCertificateFacts(facts: HostFacts, now: Date): Record<string, unknown> {
  try {
    const [leaf, ...chain] = pemCertificates(facts.text(PEXIP_PEM));
    return {
      certificate: leaf
        ? { ...describeCertificate(leaf, now), chain: chain.map((c) => describeCertificate(c, now)) }
        : null,
    };
  } catch (err) {
    return { certificate: { error: oneLine(err) } };
  }
}
