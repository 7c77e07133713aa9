import { describe, expect, it } from 'vitest';
import { onceEach } from '../../../src/engine/apply-result.js';
import type { Check } from '../../../src/engine/contract.js';

const runs: Check = { kind: 'assert', ok: true, message: 'nginx runs' };
const handshake: Check = {
  kind: 'probe',
  probe: 'nginx-handshake',
  params: { port: 443, servername: 'rp1' },
  message: 'nginx completes a TLS handshake on :443',
};
const servesCert: Check = {
  kind: 'probe',
  probe: 'tls-certificate',
  params: { port: 443, servername: 'rp1', expectFingerprint256: 'AB' },
  message: 'nginx serves CN=rp1',
  covers: ['nginx-handshake'],
};

describe('verification checks, each once per host', () => {
  it('runs the handshake once when two recipes and a handler ask for it', () => {
    expect(onceEach([runs, handshake, runs, handshake])).toEqual([runs, handshake]);
  });

  it('drops the plain handshake when a certificate probe (which handshakes too) runs', () => {
    expect(onceEach([runs, servesCert, runs, handshake])).toEqual([runs, servesCert]);
  });

  it('keeps checks that differ', () => {
    const failing: Check = { kind: 'assert', ok: false, message: 'nginx is not running' };
    expect(onceEach([runs, failing])).toEqual([runs, failing]);
  });
});
