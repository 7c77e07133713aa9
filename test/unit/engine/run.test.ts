/** runFleet with a stand-in SSH session: what it does before and without applying. */
import { describe, expect, it } from 'vitest';
import type { Recipe } from '../../../src/engine/contract.js';
import { Redactor } from '../../../src/engine/redact.js';
import { runFleet } from '../../../src/engine/run.js';
import type { HostSession } from '../../../src/transport/types.js';
import { applianceConfig } from '../support/appliance.js';

const appliance = applianceConfig();

/** A host with no files: every exec prints an empty facts record. */
function session(): HostSession {
  const result = { code: 0, stdout: Buffer.from('@facts end\n'), stderr: Buffer.alloc(0) };
  return {
    name: 'rp1',
    exec: async () => result,
    execStream: async () => {
      throw new Error('not used');
    },
    terminal: async () => {
      throw new Error('not used');
    },
    stats: { connections: 1, execs: 0, sftpSessions: 0, bytesSent: 0, bytesReceived: 0, handshakeMs: 0 },
    whenClosed: () => new Promise(() => {}),
    close: async () => {},
  };
}

function recipe(desired: Recipe['desired']): Recipe {
  return {
    name: 'derived',
    description: 'derived',
    section: 'derived',
    desired,
    facts: { files: [{ path: '/etc/derived' }] },
    plan: () => ({
      changes: [
        {
          summary: 'a change',
          writes: [{ path: '/etc/derived', content: 'x', mode: 0o600, owner: 'root', group: 'root' }],
        },
      ],
    }),
  };
}

const run = (mode: 'plan' | 'facts', r: Recipe, redactor = new Redactor()) =>
  runFleet({
    mode,
    appliances: [appliance],
    groups: new Map(),
    recipes: [r],
    connect: async () => session(),
    secret: () => '',
    redactor,
    probes: new Map(),
    concurrency: 1,
    allowDisruptive: false,
    lockWaitSeconds: 1,
    holder: { user: 'ops', host: 'ctl', pid: 1, command: 'test' },
  });

describe('runFleet', () => {
  it('redacts secrets a recipe derives in desired (a decrypted key) from everything printed', async () => {
    const redactor = new Redactor();
    const result = await run(
      'plan',
      recipe((ctx) => {
        ctx.addSecret?.('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
        return {};
      }),
      redactor,
    );
    expect(result.hosts[0]?.status).toBe('drift');
    expect(redactor.redact('key line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')).toBe('key line [REDACTED]');
  });

  it('does not compute desired states in facts mode: an invalid one does not stop a read', async () => {
    const result = await run(
      'facts',
      recipe(() => {
        throw new Error('the certificate expired');
      }),
    );
    expect(result.hosts.map((h) => h.status)).toEqual(['in-sync']);
    await expect(
      run(
        'plan',
        recipe(() => {
          throw new Error('the certificate expired');
        }),
      ),
    ).rejects.toThrow('the certificate expired');
  });
});
