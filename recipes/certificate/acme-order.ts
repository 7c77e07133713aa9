/**
 * The acquirer `acme-certificate` (src/engine/contract.ts `defineAcquirer`; the engine runs it in
 * src/engine/acquire.ts): an ACME order driven from this machine (acme-client), the key and the
 * HTTP-01 answers on the appliance.
 *
 *   1. the host makes the new private key and prints its CSR (request.csrCommand): only the CSR
 *      comes back; the key never leaves the host
 *   2. the account (found or created with the inventory's account key), then one order for the names
 *   3. each pending authorization: the key authorization written as a token file into the host's
 *      challenge directory (nginx serves it on port 80), the challenge answered, its status awaited
 *   4. the order finalized with the CSR, the chain downloaded; the token files removed on every path,
 *      and the new key too when the order failed
 *
 * Retries: acme-client resends a request refused with badNonce with the nonce the refusal carried
 * (up to 5 times) and waits out 429 (rateLimited) and 5xx answers, for Retry-After when the CA sends
 * it, else 5 s, 10 s, ... (up to 5 times); status polls back off from 1 s to 10 s.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:https';
import {
  defineAcquirer,
  type HostCommands,
  HostError,
  oneLine,
  type SecretRef,
  type ShellCommand,
  sh,
} from '../../src/engine/contract.js';

export interface AcmeOrderRequest {
  directory: string;
  /** extra CA certificates (PEM text) trusted for the directory's HTTPS */
  ca?: string;
  /** `mailto:` contacts of the account */
  contact: string[];
  accountKey: SecretRef;
  eab?: { kid: string; hmacKey: SecretRef };
  /** DNS names, the first one the subject */
  names: string[];
  /** run as root on the host: makes the new private key there, prints only its CSR (PEM) */
  csrCommand: ShellCommand;
  /** run as root on the host when the order fails: removes the key made for it */
  discardCommand: ShellCommand;
  /** the host's directory served at /.well-known/acme-challenge/ */
  challengeDir: string;
}

export interface IssuedCertificate {
  /** leaf, then intermediates, as the CA sent them */
  chainPem: string;
}

/** An ACME order that failed: the message carries the CA's problem detail. */
export class AcmeOrderError extends Error {}

const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const REQUEST_TIMEOUT_MS = 30_000;
const CSR_BLOCK = /-----BEGIN CERTIFICATE REQUEST-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE REQUEST-----/;

type AcmeModule = typeof import('acme-client');
let loaded: Promise<AcmeModule> | undefined;
/** Agents trusting a directory's extra CA certificates, by the directory's origin. */
const agents = new Map<string, Agent>();
/** The retries acme-client logs, told apart per order (orders of several hosts run at once). */
const retriesOfOrder = new AsyncLocalStorage<string[]>();

/** What an order's retries were, for the report: `badNonce 2, rateLimited 1`. */
export function describeRetries(messages: readonly string[]): string | undefined {
  const kinds = messages.map((m) =>
    /invalid nonce/i.test(m)
      ? 'badNonce'
      : /HTTP 429/.test(m)
        ? 'rateLimited'
        : `${/HTTP \d+|\b[A-Z]{4,}\b/.exec(m)?.[0]}`,
  );
  if (kinds.length === 0) return undefined;
  const counts = [...new Set(kinds)].map((k) => `${k} ${kinds.filter((x) => x === k).length}`);
  return `ACME requests retried: ${counts.join(', ')}`;
}

/** acme-client (and axios) only when an order runs: most runs never need them. */
async function acmeClient(): Promise<AcmeModule> {
  loaded ??= import('acme-client').then((module) => {
    const acme = ((module as { default?: AcmeModule }).default ?? module) as AcmeModule;
    // a CA that stops answering fails the order instead of holding the appliance's lock forever
    acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS;
    acme.setLogger((message) => {
      // a refused nonce, or a 429/5xx/network error (status polls, which also "retry", are not)
      if (/invalid nonce error, retrying|retry attempt/i.test(message))
        retriesOfOrder.getStore()?.push(message);
    });
    acme.axios.interceptors.request.use((config) => {
      const agent = config.url ? agents.get(new URL(config.url).origin) : undefined;
      if (agent) config.httpsAgent = agent;
      return config;
    });
    return acme;
  });
  return loaded;
}

async function runOk(host: HostCommands, command: ShellCommand, what: string, stdin?: string) {
  const result = await host.run(command, stdin);
  if (result.code !== 0) {
    const line = (result.stderr || result.stdout).trim().split('\n')[0] ?? '';
    throw new HostError('acquire', `${what} failed (exit ${result.code}): ${line}`);
  }
  return result.stdout;
}

/**
 * Order a certificate for `request.names`; throws AcmeOrderError with the CA's detail. `retries`
 * collects what acme-client retried.
 */
export async function orderCertificate(
  request: AcmeOrderRequest,
  host: HostCommands,
  secret: (ref: SecretRef) => string,
  retries: string[] = [],
): Promise<IssuedCertificate> {
  const acme = await acmeClient();
  return retriesOfOrder.run(retries, () => order(acme, request, host, secret));
}

async function order(
  acme: AcmeModule,
  request: AcmeOrderRequest,
  host: HostCommands,
  secret: (ref: SecretRef) => string,
): Promise<IssuedCertificate> {
  if (request.ca)
    agents.set(new URL(request.directory).origin, new Agent({ ca: request.ca, keepAlive: false }));
  const csrOutput = await runOk(host, request.csrCommand, 'making the key and CSR on the appliance');
  const csr = CSR_BLOCK.exec(csrOutput)?.[0];
  if (!csr) throw new HostError('acquire', 'the appliance printed no certificate request');
  const written: string[] = [];
  let ok = false;
  try {
    const client = new acme.Client({
      directoryUrl: request.directory,
      accountKey: secret(request.accountKey),
      ...(request.eab
        ? { externalAccountBinding: { kid: request.eab.kid, hmacKey: secret(request.eab.hmacKey) } }
        : {}),
      backoffAttempts: 12,
      backoffMin: 1000,
      backoffMax: 10_000,
    });
    await step('account', () =>
      client.createAccount({
        termsOfServiceAgreed: true,
        ...(request.contact.length ? { contact: request.contact } : {}),
      }),
    );
    const order = await step('new order', () =>
      client.createOrder({ identifiers: request.names.map((value) => ({ type: 'dns', value })) }),
    );
    const authorizations = await step('authorizations', () => client.getAuthorizations(order));
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue;
      const name = authz.identifier.value;
      const challenge = authz.challenges.find((c) => c.type === 'http-01');
      if (!challenge) throw new AcmeOrderError(`${name}: the CA offers no http-01 challenge`);
      if (!TOKEN.test(challenge.token)) throw new AcmeOrderError(`${name}: the CA sent an unusable token`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      await runOk(
        host,
        sh`umask 022 && mkdir -p ${request.challengeDir} && cat > ${`${request.challengeDir}/${challenge.token}`}`,
        'writing the challenge answer',
        keyAuthorization,
      );
      written.push(challenge.token);
      await step(`challenge for ${name}`, async () => {
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      });
    }
    const finalized = await step('finalize', () => client.finalizeOrder(order, csr));
    const chainPem = await step('certificate download', () => client.getCertificate(finalized));
    ok = true;
    return { chainPem };
  } finally {
    const paths = written.map((token) => `${request.challengeDir}/${token}`);
    if (paths.length > 0) await host.run(sh`rm -f -- ${paths}`).catch(() => undefined);
    if (!ok) await host.run(request.discardCommand).catch(() => undefined);
  }
}

/** One ACME exchange; a failure names it and carries the CA's problem detail. */
async function step<T>(what: string, exchange: () => Promise<T>): Promise<T> {
  try {
    return await exchange();
  } catch (err) {
    if (err instanceof AcmeOrderError || err instanceof HostError) throw err;
    throw new AcmeOrderError(`ACME ${what} failed: ${oneLine(err)}`);
  }
}

/** The acquirer the certificate concern registers; retries acme-client made become a report note. */
export const ACME_ACQUIRER = defineAcquirer<AcmeOrderRequest, IssuedCertificate>(
  'acme-certificate',
  async (request, host, ctx) => {
    const retries: string[] = [];
    try {
      const obtained = await orderCertificate(request, host, ctx.secret, retries);
      const note = describeRetries(retries);
      return { obtained, notes: note ? [note] : [] };
    } catch (err) {
      const note = describeRetries(retries);
      if (note && err instanceof Error) err.message = `${err.message} (${note})`;
      throw err;
    }
  },
);
