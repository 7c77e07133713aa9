/**
 * nginx, shared by the concerns that change what it serves (upstreams, certificate): its
 * configuration test and its reload handler, notified once per host whoever asks.
 */
import { type Handler, sh } from '../../src/engine/contract.js';

/** nginx's own configuration test: run after the writes, before any reload. */
export const NGINX_TEST = sh`nginx -t`;

/**
 * graceful: new connections get the new configuration, calls in progress survive. A stopped nginx
 * (a boot that found an invalid file) is started: `reload` would exit 0 and leave it down.
 */
export const NGINX_RELOAD: Handler = {
  id: 'nginx:reload',
  command: sh`if service nginx status > /dev/null 2>&1; then service nginx reload; else service nginx start; fi`,
  disruptive: false,
};
