/**
 * HostFacts from strings, for testing pure planners without SSH.
 *
 *   fakeFacts({ files: { '/etc/hostname': 'rp1\n' }, commands: { 'appliance.names': 'hostname=rp1\n' } })
 */
import { createHash } from 'node:crypto';
import type { CommandFact, FileFact, HostFacts } from '../../../src/engine/contract.js';

export interface FakeHost {
  files?: Record<string, string | Buffer>;
  /** output only (exit 0), or output and exit code */
  commands?: Record<string, string | { code: number; output: string }>;
}

export function fakeFacts(host: FakeHost): HostFacts {
  const file = (path: string): FileFact => {
    const value = host.files?.[path];
    if (value === undefined) return { path, exists: false };
    const content = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
    return {
      path,
      exists: true,
      content,
      sha256: createHash('sha256').update(content).digest('hex'),
      mode: 0o644,
      owner: 'root',
      group: 'root',
      size: content.length,
    };
  };
  return {
    file,
    text(path) {
      const fact = file(path);
      return fact.exists ? fact.content.toString('utf8') : undefined;
    },
    command(id): CommandFact | undefined {
      const value = host.commands?.[id];
      if (value === undefined) return undefined;
      return typeof value === 'string' ? { id, code: 0, output: value } : { id, ...value };
    },
  };
}
