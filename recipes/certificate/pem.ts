/**
 * pexip.pem, checked and assembled on the control machine before anything is uploaded. Pure: PEM
 * text in, the file to install (or a one-line problem) out. The guide's format is the server
 * certificate, then its unencrypted private key, then the intermediates.
 *
 *   const pem = assemblePexipPem({ kind: 'pem', pem: { text, where: 'file:certs/rp1.pem' } }, { now });
 *   nameProblem(pem.leaf, 'rp1.example.com')  // undefined when a SAN (or the CN) covers the name
 *   pem.content                                // certificate, key, intermediates, LF line ends
 *   pem.warnings                               // RSA under 2048 bits, no intermediates, expiring soon
 *
 * Problems throw CertificateProblem, whose message names the file and what is wrong.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';

export class CertificateProblem extends Error {}

/** PEM text and where it came from, for messages (`file:/etc/rpctl/rp1.pem`, a path). */
export interface PemSource {
  text: string;
  where: string;
}

export type CertificateInput =
  | { kind: 'pem'; pem: PemSource }
  | { kind: 'parts'; cert: PemSource; key: PemSource; chain: readonly PemSource[] };

export interface AssembleOptions {
  now: Date;
  /** decrypts an encrypted key here, so only the unencrypted key is uploaded */
  passphrase?: { value: string; where: string };
}

export interface PexipPem {
  /** the file to install */
  content: string;
  leaf: X509Certificate;
  /** the intermediates, in file order */
  chain: X509Certificate[];
  /** the key's type for people: `RSA 2048 bits`, `EC prime256v1` */
  keyType: string;
  warnings: string[];
  /** the key as installed, its base64 body and each of its lines: values to redact */
  keySecrets: string[];
}

interface PemBlock {
  label: string;
  /** the block with LF line ends and no trailing spaces */
  text: string;
}

export const MIN_RSA_BITS = 2048;
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;
const isKey = (block: PemBlock) => block.label.endsWith('PRIVATE KEY');
const isCertificate = (block: PemBlock) => block.label === 'CERTIFICATE';

/** The PEM blocks of a text; text around them (openssl's `Bag Attributes`) is dropped. */
export function pemBlocks(source: PemSource): PemBlock[] {
  const text = source.text.replace(/\r\n?/g, '\n');
  const blocks: PemBlock[] = [];
  const pattern = /-----BEGIN ([A-Z0-9 ]+)-----\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  let parsed = 0;
  for (const match of text.matchAll(pattern)) {
    parsed++;
    const [whole, label = '', , end] = match;
    if (end !== label) throw problem(source, `a PEM block opens as ${label} and closes as ${end}`);
    // `openssl ecparam -genkey` writes the curve before the key; the key names it again.
    if (label === 'EC PARAMETERS') continue;
    blocks.push({ label, text: whole.replace(/[ \t]+$/gm, '') });
  }
  if ((text.match(/-----BEGIN /g)?.length ?? 0) !== parsed)
    throw problem(source, 'a PEM block has no END line (is the file cut short?)');
  for (const block of blocks) {
    if (!isKey(block) && !isCertificate(block)) {
      throw problem(
        source,
        `unexpected PEM block ${block.label}: only certificates and a private key belong here`,
      );
    }
  }
  return blocks;
}

function problem(source: PemSource, message: string): CertificateProblem {
  return new CertificateProblem(`${source.where}: ${message}`);
}

const subjectOf = (cert: X509Certificate) => cert.subject.replaceAll('\n', ', ');
const when = (date: Date) => date.toISOString().replace(/\.\d+Z$/, 'Z');

/** The blocks in the guide's order, each with the source it came from. */
function orderedBlocks(input: CertificateInput): { block: PemBlock; source: PemSource }[] {
  if (input.kind === 'pem') {
    const source = input.pem;
    const blocks = pemBlocks(source);
    const keys = blocks.filter(isKey).length;
    const order = 'the order is: server certificate, its private key, then intermediates';
    if (blocks.length === 0) throw problem(source, `no PEM blocks; ${order}`);
    if (isKey(blocks[0]!)) throw problem(source, `the private key comes before the certificate; ${order}`);
    if (keys === 0) throw problem(source, `no private key after the certificate; ${order}`);
    if (keys > 1) throw problem(source, `${keys} private keys; pexip.pem holds exactly one`);
    const between = blocks.findIndex(isKey) - 1;
    if (between > 0) {
      const what = between === 1 ? 'a certificate comes' : `${between} certificates come`;
      throw problem(source, `${what} between the server certificate and its private key; ${order}`);
    }
    return blocks.map((block) => ({ block, source }));
  }
  const certs = pemBlocks(input.cert);
  if (certs.some(isKey)) throw problem(input.cert, 'holds a private key; give the key separately');
  if (certs.length === 0) throw problem(input.cert, 'no certificate');
  const keys = pemBlocks(input.key);
  if (keys.some(isCertificate))
    throw problem(input.key, 'holds certificates; the key file holds only the key');
  if (keys.length !== 1) throw problem(input.key, `expected one private key, found ${keys.length}`);
  const chain = input.chain.flatMap((source) => {
    const blocks = pemBlocks(source);
    if (blocks.some(isKey)) throw problem(source, 'holds a private key; chain files hold certificates only');
    if (blocks.length === 0) throw problem(source, 'no certificate');
    return blocks.map((block) => ({ block, source }));
  });
  return [
    { block: certs[0]!, source: input.cert },
    { block: keys[0]!, source: input.key },
    ...certs.slice(1).map((block) => ({ block, source: input.cert })),
    ...chain,
  ];
}

/** The unencrypted key block (decrypted here when a passphrase is given) and its KeyObject. */
function readKey(
  block: PemBlock,
  source: PemSource,
  passphrase: AssembleOptions['passphrase'],
): { block: PemBlock; key: KeyObject } {
  const encrypted = block.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(block.text);
  if (!encrypted) {
    try {
      return { block, key: createPrivateKey(block.text) };
    } catch (err) {
      throw problem(source, `the private key does not parse (${(err as Error).message})`);
    }
  }
  if (!passphrase) {
    throw problem(
      source,
      'the private key is encrypted and pexip.pem needs it unencrypted: give its passphrase (--key-passphrase-file, certificate.keyPassphrase) to decrypt it locally',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.text, format: 'pem', passphrase: passphrase.value });
  } catch {
    throw problem(source, `the private key does not decrypt with the passphrase from ${passphrase.where}`);
  }
  const text = (key.export({ type: 'pkcs8', format: 'pem' }) as string).trimEnd();
  return { block: { label: 'PRIVATE KEY', text }, key };
}

function keyType(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  const type = (key.asymmetricKeyType ?? 'unknown').toUpperCase();
  if (details.modulusLength) return `${type} ${details.modulusLength} bits`;
  if (details.namedCurve) return `${type} ${details.namedCurve}`;
  return type;
}

/** What to redact of a key: the PEM, its base64 body, and each full line of it. */
function keySecrets(block: PemBlock): string[] {
  const lines = block.text.split('\n').filter((l) => /^[A-Za-z0-9+/=]{16,}$/.test(l));
  return [block.text, lines.join(''), ...lines];
}

function parseCertificate(block: PemBlock, source: PemSource, name: string): X509Certificate {
  try {
    return new X509Certificate(block.text);
  } catch (err) {
    throw problem(source, `${name} does not parse (${(err as Error).message})`);
  }
}

/** Check the input and build pexip.pem. Throws CertificateProblem. */
export function assemblePexipPem(input: CertificateInput, options: AssembleOptions): PexipPem {
  const [leafEntry, keyEntry, ...chainEntries] = orderedBlocks(input);
  const leafSource = leafEntry!.source;
  const leaf = parseCertificate(leafEntry!.block, leafSource, 'the server certificate');
  const chain = chainEntries.map(({ block, source }, i) =>
    parseCertificate(block, source, `intermediate ${i + 1}`),
  );
  const names = [
    `the server certificate (${subjectOf(leaf)})`,
    ...chain.map((c, i) => `intermediate ${i + 1} (${subjectOf(c)})`),
  ];
  const { block: keyBlock, key } = readKey(keyEntry!.block, keyEntry!.source, options.passphrase);
  if (!leaf.checkPrivateKey(key)) {
    throw problem(keyEntry!.source, `the private key does not belong to ${names[0]}`);
  }

  [leaf, ...chain].forEach((cert, i) => {
    if (i === 0) return;
    const child = i === 1 ? leaf : chain[i - 2]!;
    if (!child.checkIssued(cert) || !child.verify(cert.publicKey)) {
      throw problem(
        chainEntries[i - 1]!.source,
        `${names[i]} did not issue ${names[i - 1]}, whose issuer is ${child.issuer.replaceAll('\n', ', ')}; each certificate must be followed by its issuer`,
      );
    }
  });

  const warnings: string[] = [];
  [leaf, ...chain].forEach((cert, i) => {
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    const source = i === 0 ? leafSource : chainEntries[i - 1]!.source;
    if (options.now < from) throw problem(source, `${names[i]} is not valid until ${when(from)}`);
    if (options.now > to) throw problem(source, `${names[i]} expired on ${when(to)}`);
    const days = Math.floor((to.getTime() - options.now.getTime()) / DAY_MS);
    if (days < EXPIRY_WARNING_DAYS) warnings.push(`${names[i]} expires in ${days} days (${when(to)})`);
  });

  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType?.startsWith('rsa') && bits !== undefined && bits < MIN_RSA_BITS) {
    warnings.push(
      `the RSA key has ${bits} bits, under ${MIN_RSA_BITS}: clients may refuse it, and OpenSSL at security level 2 (Debian's default) makes nginx -t fail`,
    );
  }
  if (chain.length === 0 && !(leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey))) {
    warnings.push(
      `no intermediate certificates: clients that do not already hold ${leaf.issuer.replaceAll('\n', ', ')} will not trust this certificate`,
    );
  }

  const blocks = [leafEntry!.block, keyBlock, ...chainEntries.map((e) => e.block)];
  return {
    content: `${blocks.map((b) => b.text).join('\n')}\n`,
    leaf,
    chain,
    keyType: keyType(key),
    warnings,
    keySecrets: keySecrets(keyBlock),
  };
}

/** Why `leaf` does not cover `fqdn` (SANs, or the CN when there are none), or undefined when it does. */
export function nameProblem(leaf: X509Certificate, fqdn: string): string | undefined {
  if (leaf.checkHost(fqdn) !== undefined) return undefined;
  const names = leaf.subjectAltName ? `SANs ${leaf.subjectAltName}` : subjectOf(leaf);
  return `the certificate (${names}) does not cover ${fqdn}`;
}
