/**
 * A throwaway PKI for tests, made with the openssl command line in a directory the test owns:
 * a root CA, an intermediate, and leaf certificates issued by the intermediate with the names,
 * key types and validity dates a test asks for.
 *
 *   const pki = new TestPki(tempDir);
 *   const leaf = pki.leaf('rp1', { names: ['rp1.example.com'] });
 *   readFileSync(leaf.cert)  // PEM certificate; leaf.key its unencrypted key (PKCS#8)
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  name: string;
  /** paths */
  cert: string;
  key: string;
  certPem: string;
  keyPem: string;
  /** hex sha256 of the certificate, lower case, no colons */
  fingerprint256: string;
}

export interface LeafOptions {
  /** DNS names (SANs); the first is also the CN. Empty: CN only (`cn`). */
  names: string[];
  cn?: string;
  /** `rsa:2048` (default), `rsa:1024`, `ec:prime256v1` */
  keyType?: string;
  /** validity; default from an hour ago for 90 days */
  notBefore?: Date;
  notAfter?: Date;
  /** issued by this certificate instead of the intermediate */
  issuer?: Issued;
}

const DAY_MS = 86_400_000;
/** openssl ca's GeneralizedTime: YYYYMMDDHHMMSSZ */
const stamp = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** A new P-256 private key (PEM) written to `path`: an ACME account key. */
export function ecKeyFile(path: string): string {
  execFileSync('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    path,
  ]);
  return path;
}

/** The base64 lines of a PEM private key: what must never be printed or recorded. */
export function keyBodyLines(keyPem: string): string[] {
  return keyPem.split('\n').filter((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line));
}

export class TestPki {
  readonly root: Issued;
  readonly intermediate: Issued;

  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'newcerts'), { recursive: true });
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    writeFileSync(join(dir, 'ca.cnf'), caConfig(dir));
    writeFileSync(
      join(dir, 'ca.ext'),
      'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n',
    );
    this.root = this.make('root', (key, cert) =>
      openssl(dir, [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '3650',
        '-subj',
        '/CN=rpctl test root',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]),
    );
    this.intermediate = this.issue('intermediate', '/CN=rpctl test intermediate', 'rsa:2048', 'ca.ext', {
      issuer: this.root,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 3000 * DAY_MS),
    });
  }

  leaf(name: string, options: LeafOptions): Issued {
    const ext = `${name}.ext`;
    const sans = options.names.map((n) => `DNS:${n}`).join(',');
    writeFileSync(
      join(this.dir, ext),
      `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n${sans ? `subjectAltName=${sans}\n` : ''}`,
    );
    return this.issue(name, `/CN=${options.cn ?? options.names[0]}`, options.keyType ?? 'rsa:2048', ext, {
      issuer: options.issuer ?? this.intermediate,
      notBefore: options.notBefore ?? new Date(Date.now() - 3600_000),
      notAfter: options.notAfter ?? new Date(Date.now() + 90 * DAY_MS),
    });
  }

  /** `keyPem` encrypted with `passphrase` (PKCS#8, AES-256), written next to it. */
  encryptedKey(issued: Issued, passphrase: string): string {
    const pass = join(this.dir, `${issued.name}.pass`);
    const out = join(this.dir, `${issued.name}.enc.key`);
    writeFileSync(pass, `${passphrase}\n`, { mode: 0o600 });
    openssl(this.dir, [
      'pkcs8',
      '-topk8',
      '-v2',
      'aes-256-cbc',
      '-in',
      issued.key,
      '-out',
      out,
      '-passout',
      `file:${pass}`,
    ]);
    return out;
  }

  /** Write `parts` (PEM texts) concatenated into `name` in the PKI directory; returns its path. */
  file(name: string, ...parts: string[]): string {
    const path = join(this.dir, name);
    writeFileSync(path, parts.join(''), { mode: 0o600 });
    return path;
  }

  private issue(
    name: string,
    subject: string,
    keyType: string,
    ext: string,
    options: { issuer: Issued; notBefore: Date; notAfter: Date },
  ): Issued {
    return this.make(name, (key, cert) => {
      const csr = join(this.dir, `${name}.csr`);
      const [algorithm, parameter] = keyType.split(':');
      const keyOptions =
        algorithm === 'ec'
          ? ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${parameter}`]
          : ['-newkey', `rsa:${parameter}`];
      openssl(this.dir, [
        'req',
        '-new',
        ...keyOptions,
        '-nodes',
        '-keyout',
        key,
        '-out',
        csr,
        '-subj',
        subject,
      ]);
      openssl(this.dir, [
        'ca',
        '-batch',
        '-notext',
        '-config',
        join(this.dir, 'ca.cnf'),
        '-cert',
        options.issuer.cert,
        '-keyfile',
        options.issuer.key,
        '-in',
        csr,
        '-out',
        cert,
        '-extfile',
        join(this.dir, ext),
        '-startdate',
        stamp(options.notBefore),
        '-enddate',
        stamp(options.notAfter),
      ]);
    });
  }

  private make(name: string, run: (key: string, cert: string) => void): Issued {
    const key = join(this.dir, `${name}.key`);
    const cert = join(this.dir, `${name}.crt`);
    run(key, cert);
    const certPem = readFileSync(cert, 'utf8');
    return {
      name,
      cert,
      key,
      certPem,
      keyPem: readFileSync(key, 'utf8'),
      fingerprint256: fingerprintOf(certPem),
    };
  }
}

function caConfig(dir: string): string {
  return `[ ca ]
default_ca = test
[ test ]
database = ${join(dir, 'index.txt')}
new_certs_dir = ${join(dir, 'newcerts')}
serial = ${join(dir, 'serial')}
default_md = sha256
policy = anything
unique_subject = no
[ anything ]
commonName = supplied
`;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}
