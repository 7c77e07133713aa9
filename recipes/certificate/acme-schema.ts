/**
 * The `certificate.acme` inventory section: pexip.pem issued by an ACME CA and renewed before it
 * expires, its private key made on the appliance (recipes/certificate/acme.ts).
 *
 *   certificate:
 *     acme:
 *       directory: https://acme-v02.api.letsencrypt.org/directory
 *       email: pki@example.com                 # the account's contact
 *       accountKey: file:secrets/acme-account.pem
 *       extraNames: [meet.example.com]        # besides hostname.domain
 *       keyType: ecdsa-p256                    # or rsa-2048 (default)
 *       renewBefore: 30                        # days left when it is renewed (default 30)
 *       eab: { kid: KID, hmacKey: env:ACME_EAB_HMAC }   # CAs that bind to an existing account
 *       caFile: pki/private-acme-root.pem      # a private CA's directory (HTTPS) trusted too
 */
import { z } from 'zod';
import { secret } from '../../src/engine/contract.js';
import { hostname, intRange, localPath } from '../../src/inventory/types.js';

export const ACME_KEY_TYPES = ['rsa-2048', 'ecdsa-p256'] as const;
export type AcmeKeyType = (typeof ACME_KEY_TYPES)[number];
export const DEFAULT_RENEW_BEFORE_DAYS = 30;

const directoryUrl = z.string().superRefine((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (url?.protocol !== 'https:' || url.username || url.password || /[\s"'\\]/.test(text))
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not an https:// URL` });
});

// One address, no display name: the account's contact is `mailto:` it.
const email = z
  .string()
  .regex(/^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$/, {
    message: 'is not an e-mail address (name@example.com)',
  });

// HTTP-01 cannot prove a wildcard: say so instead of "not a host name".
const extraName = z
  .string()
  .refine((s) => !s.startsWith('*.'), {
    message: 'wildcard names need a DNS-01 challenge; rpctl answers HTTP-01',
  })
  .pipe(hostname);

export const acmeSection = z
  .strictObject({
    directory: directoryUrl.meta({ description: "the ACME CA's directory URL (https)" }),
    email: email.optional().meta({ description: "the ACME account's contact e-mail" }),
    accountKey: secret.meta({
      description:
        'the ACME account key, a PEM private key (secret reference); the account is created or found with it',
    }),
    extraNames: z
      .array(extraName)
      .max(99)
      .optional()
      .meta({ description: "names the certificate covers besides the appliance's hostname.domain" }),
    keyType: z
      .enum(ACME_KEY_TYPES)
      .optional()
      .meta({ description: 'the private key made on the appliance: rsa-2048 (default) or ecdsa-p256' }),
    renewBefore: intRange(1, 180)
      .optional()
      .meta({ description: `renew when fewer days than this remain (default ${DEFAULT_RENEW_BEFORE_DAYS})` }),
    eab: z
      .strictObject({
        kid: z
          .string()
          .regex(/^[\x21-\x7e]{1,256}$/, { message: 'is not a key identifier (printable, no spaces)' })
          .meta({ description: 'the key identifier the CA gave' }),
        hmacKey: secret.meta({ description: 'the base64url HMAC key the CA gave (secret reference)' }),
      })
      .optional()
      .meta({ description: 'external account binding, for CAs that require it' }),
    caFile: localPath.optional().meta({
      description:
        "CA certificates (PEM) trusted for the directory's HTTPS besides the system's (a private CA)",
    }),
  })
  .meta({ description: 'issue and renew pexip.pem from an ACME CA; the key is made on the appliance' });

export type AcmeSection = z.output<typeof acmeSection>;
