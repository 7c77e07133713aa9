/**
 * The `certificate` inventory section, and reading the files it names into a CertificateInput.
 *
 *   certificate:
 *     pem: file:certs/rp1.pem                 # a ready pexip.pem (secret: it holds the key)
 *   certificate:
 *     cert: certs/rp1.crt                     # or its parts, assembled in the guide's order
 *     key: file:certs/rp1.key
 *     chain: [certs/intermediate.crt]
 *     keyPassphrase: env:RP1_KEY_PASSPHRASE   # an encrypted key is decrypted on this machine
 *     allowNameMismatch: false
 *   certificate:
 *     acme: { ... }                           # or issued by an ACME CA (acme-schema.ts)
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  type DesiredContext,
  defineSection,
  describeSecretRef,
  resolveInventoryPath,
  type SecretRef,
  secret,
} from '../../src/engine/contract.js';
import { localPath } from '../../src/inventory/types.js';
import { acmeSection } from './acme-schema.js';
import { type CertificateInput, CertificateProblem, type PemSource } from './pem.js';

const ACME_ALONE = 'acme issues the certificate: it excludes pem, cert, key, chain and their options';
const ALTERNATIVES = 'pem (a ready pexip.pem) and cert/key/chain (its parts) are alternatives';

export const certificateSection = z
  .strictObject({
    pem: secret.optional().meta({
      description:
        'a ready pexip.pem: certificate, unencrypted private key, intermediates (secret reference, e.g. file:certs/rp1.pem)',
    }),
    cert: localPath.optional().meta({
      description:
        'the server certificate (PEM; intermediates may follow it); relative to this inventory, ~ expanded',
    }),
    key: secret
      .optional()
      .meta({ description: 'its private key (secret reference, e.g. file:certs/rp1.key)' }),
    chain: z
      .union([localPath, z.array(localPath).min(1)])
      .optional()
      .meta({ description: 'intermediate certificate file(s), issuer after issuer' }),
    keyPassphrase: secret.optional().meta({
      description: 'passphrase of an encrypted key: decrypted on this machine, never sent (secret reference)',
    }),
    allowNameMismatch: z.boolean().optional().meta({
      description: "install even when no SAN (or the CN) covers the appliance's hostname.domain",
    }),
    acme: acmeSection.optional(),
  })
  .superRefine((section, ctx) => {
    if (section.acme !== undefined) {
      for (const key of ['pem', 'cert', 'key', 'chain', 'keyPassphrase', 'allowNameMismatch'] as const)
        if (section[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: ACME_ALONE });
      return;
    }
    const parts = section.cert !== undefined || section.key !== undefined || section.chain !== undefined;
    if (section.pem !== undefined && parts)
      ctx.addIssue({ code: 'custom', path: ['pem'], message: ALTERNATIVES });
    else if (section.pem === undefined && section.cert === undefined)
      ctx.addIssue({ code: 'custom', message: 'needs pem (a ready pexip.pem), or cert and key' });
    else if (section.pem === undefined && section.key === undefined)
      ctx.addIssue({ code: 'custom', path: ['cert'], message: 'cert needs key (its private key)' });
  });

export type CertificateSection = z.output<typeof certificateSection>;

export const certificateInventorySection = defineSection({
  key: 'certificate',
  description: 'the TLS certificate of the reverse proxy (/etc/nginx/ssl/pexip.pem)',
  schema: certificateSection,
});

function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'the file does not exist';
  if (code === 'EACCES') return 'the file cannot be read (permission denied)';
  if (code === 'EISDIR') return 'it is a directory, not a file';
  return `the file cannot be read (${code ?? String(err)})`;
}

/**
 * The PEM texts a section names. Relative paths are next to the inventory (the loader keeps the
 * file as given, relative to the working directory). Throws CertificateProblem when a file cannot be read.
 */
export function certificateInput(section: CertificateSection, ctx: DesiredContext): CertificateInput {
  const fromSecret = (ref: SecretRef): PemSource => ({
    text: ctx.secret(ref),
    where: describeSecretRef(ref),
  });
  if (section.pem !== undefined) return { kind: 'pem', pem: fromSecret(section.pem) };
  const baseDir = dirname(resolve(ctx.appliance.source.file));
  const fromPath = (path: string): PemSource => {
    const absolute = resolveInventoryPath(path, baseDir);
    try {
      return { text: readFileSync(absolute, 'utf8'), where: absolute };
    } catch (err) {
      throw new CertificateProblem(`${absolute}: ${fileProblem(err)}`);
    }
  };
  return {
    kind: 'parts',
    cert: fromPath(section.cert!),
    key: fromSecret(section.key!),
    chain: [section.chain ?? []].flat().map(fromPath),
  };
}
