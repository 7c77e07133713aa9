/**
 * nginx, shared by the concerns that change what it serves (upstreams, certificate): its
 * configuration test, its reload handler (notified once per host whoever asks) and what proves it
 * serves after an apply.
 */
import { type Check, defineProbe, type Handler, sh, tlsHandshake } from '../../src/engine/contract.js';
import { applianceFactSpec, applianceFacts } from '../appliance/facts.js';

/** nginx's own configuration test: run after the writes, before any reload. */
export const NGINX_TEST = sh`nginx -t`;

// `service nginx reload` exits 0 on a stopped nginx and starts nothing: a stopped nginx is
// started instead, and the handler fails unless nginx runs afterwards.
const reloadOrStart = sh`if service nginx status >/dev/null 2>&1; then service nginx reload; else service nginx start; fi && service nginx status >/dev/null 2>&1`;

const HANDSHAKE_TRIES_MS = 5000;

/**
 * A TLS handshake on :443 from the control machine, whatever certificate is served (the
 * certificate recipe checks which). nginx answers a moment after `service nginx start` returns.
 */
export const nginxHandshakeProbe = defineProbe<{ port: number; servername: string }>(
  'nginx-handshake',
  async ({ port, servername }, message, target) => {
    const deadline = Date.now() + HANDSHAKE_TRIES_MS;
    for (;;) {
      try {
        await tlsHandshake(target.address, port, servername, 3000);
        return { ok: true, message };
      } catch (err) {
        if (Date.now() >= deadline) {
          return { ok: false, message: `${message}: ${err instanceof Error ? err.message : String(err)}` };
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  },
);

type Facts = Parameters<typeof applianceFacts>[0];

/** nginx runs, as `service nginx status` says after the handlers. */
export function nginxRunsCheck(after: Facts, host: string): Check {
  const running = applianceFacts(after, host).services.nginx === 'running';
  return { kind: 'assert', ok: running, message: running ? 'nginx runs' : 'nginx is not running' };
}

/**
 * After every run of nginx's handler (its configuration or certificate changed, or it was started):
 * it runs, and a TLS handshake on :443 succeeds. The certificate recipe's probe, which checks the
 * served certificate, covers the plain handshake.
 */
function nginxServesChecks(after: Facts, host: string): Check[] {
  return [
    nginxRunsCheck(after, host),
    nginxHandshakeProbe.check(
      { port: 443, servername: applianceFacts(after, host).fqdn },
      'nginx completes a TLS handshake on :443',
    ),
  ];
}

/** graceful: new connections get the new configuration, calls in progress survive */
export const NGINX_RELOAD: Handler = {
  id: 'nginx:reload',
  command: reloadOrStart,
  disruptive: false,
  verify: (after, ctx) => nginxServesChecks(after, ctx.host),
  facts: applianceFactSpec, // nginx's state and the FQDN the handshake names
};
