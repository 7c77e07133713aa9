import { describe, expect, it } from 'vitest';
import { HostError } from '../../../src/errors.js';
import type { ApplianceConfig } from '../../../src/inventory/model.js';
import { nginxConf, nginxLoggingConf, pexRewrites } from '../../../test/lab/files.js';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { NGINX_RELOAD } from '../../services/nginx.js';
import {
  NGINX_DUMP,
  PEXAPP,
  parseUpstreamBlock,
  renderServerLine,
  type UpstreamsDesired,
  upstreamsRecipe,
  WIZARD_CONVENTION,
} from '../recipe.js';
import { type UpstreamNode, upstreamNodes, upstreamsSection } from '../schema.js';
import { WIZARD_FILE } from './plan-cases.js';

const LAB = WIZARD_FILE;

/** A hand-edited appliance file: tabs, odd spacing, comments in the block, a second upstream. */
const REAL = [
  '# Upstream servers, edited by hand',
  'upstream pexip {',
  '\tip_hash;',
  '\t# Oslo conferencing nodes',
  '\tserver 10.40.0.11:443   weight=1 max_fails=0;   # node A',
  '\tserver  10.40.0.12:443 weight=1  max_fails=0;',
  '\t#server 10.40.0.19:443 weight=1 max_fails=0;',
  '\tserver conf-c.example.com:443 weight=1 max_fails=0;',
  '\tkeepalive 1024;',
  '}',
  '',
  'upstream pexip_admin {',
  '    server 10.40.0.11:8443;',
  '}',
  '',
  'server {',
  '  listen 443 ssl;',
  '  location / { proxy_pass https://pexip; add_header X-Note "braces { in } quotes; # not a comment"; }',
  "  return 301 'https://$host$request_uri#anchor';",
  '}',
  '',
].join('\n');

const ctx = { host: 'rp1', now: new Date(0) };
const nodes = (...entries: unknown[]): UpstreamNode[] =>
  upstreamNodes(upstreamsSection.parse({ nodes: entries }));
const desired = (...entries: unknown[]): UpstreamsDesired => ({ nodes: nodes(...entries) });

function planOn(text: string | undefined, want: UpstreamsDesired) {
  const facts = fakeFacts({ files: text === undefined ? {} : { [PEXAPP]: text } });
  return upstreamsRecipe.plan(want, facts, ctx);
}

function newContent(text: string, want: UpstreamsDesired): string {
  const result = planOn(text, want);
  expect(result.changes).toHaveLength(1);
  return String(result.changes[0]?.writes?.[0]?.content);
}

/** `lines` with `remove` dropped and `insert` placed after the line `after`. */
function expectLines(text: string, edit: { remove?: string[]; after?: string; insert?: string[] }): string[] {
  const lines = text.split('\n').filter((line) => !edit.remove?.includes(line));
  if (edit.after !== undefined) lines.splice(lines.indexOf(edit.after) + 1, 0, ...(edit.insert ?? []));
  return lines;
}

describe('parseUpstreamBlock', () => {
  it('reads the lab appliance block', () => {
    const block = parseUpstreamBlock(LAB);
    expect(block?.servers.map((s) => s.address)).toEqual([
      '10.40.0.11:443',
      '10.40.0.12:443',
      '10.40.0.13:443',
    ]);
    expect(block?.directives.map((d) => d.name)).toEqual([
      'ip_hash',
      'server',
      'server',
      'server',
      'keepalive',
    ]);
    expect(block?.servers[0]?.params).toEqual(WIZARD_CONVENTION);
  });

  it('reads only upstream pexip: comments, quotes and other blocks are not servers', () => {
    const block = parseUpstreamBlock(REAL);
    expect(block?.servers.map((s) => s.address)).toEqual([
      '10.40.0.11:443',
      '10.40.0.12:443',
      'conf-c.example.com:443',
    ]);
    expect(parseUpstreamBlock(REAL, 'pexip_admin')?.servers.map((s) => s.address)).toEqual([
      '10.40.0.11:8443',
    ]);
  });

  it('ignores an upstream pexip inside a comment or a string, and returns undefined without a block', () => {
    expect(
      parseUpstreamBlock('# upstream pexip { server 1.2.3.4; }\nadd_header X "upstream pexip {";\n'),
    ).toBe(undefined);
  });

  it('refuses text nginx would refuse', () => {
    expect(() => parseUpstreamBlock('upstream pexip { server 10.0.0.1:443; ')).toThrow(/not closed/);
    expect(() => parseUpstreamBlock('add_header X "open;\n')).toThrow(/unterminated/);
    expect(() => parseUpstreamBlock('upstream pexip { }\nupstream pexip { }\n')).toThrow(/defined twice/);
    expect(() => parseUpstreamBlock('}\n')).toThrow(/unexpected/);
  });
});

describe('renderServerLine', () => {
  it('follows the convention, under the node’s own parameters', () => {
    const [plain, tuned] = nodes('2001:DB8::1', { address: 'node.example.com', weight: 5, backup: true });
    expect(renderServerLine(plain!, WIZARD_CONVENTION)).toBe(
      'server [2001:db8::1]:443 weight=1 max_fails=0;',
    );
    expect(renderServerLine(tuned!, WIZARD_CONVENTION)).toBe(
      'server node.example.com:443 weight=5 max_fails=0 backup;',
    );
    expect(renderServerLine(plain!, [])).toBe('server [2001:db8::1]:443;');
  });
});

describe('upstreams plan', () => {
  it('changes nothing when the block already lists the nodes, in any order', () => {
    expect(planOn(LAB, desired('10.40.0.13', '10.40.0.11', '10.40.0.12'))).toEqual({
      changes: [],
      warnings: [],
    });
    const real = planOn(
      REAL,
      desired('conf-c.example.com', '10.40.0.12', { address: '10.40.0.11', port: 443 }),
    );
    expect(real.changes).toEqual([]);
  });

  it('adds a node after the last server line, with the wizard’s parameters and indentation', () => {
    const content = newContent(LAB, desired('10.40.0.11', '10.40.0.12', '10.40.0.13', '10.40.0.14'));
    expect(content.split('\n')).toEqual(
      expectLines(LAB, {
        after: '    server 10.40.0.13:443 weight=1 max_fails=0;',
        insert: ['    server 10.40.0.14:443 weight=1 max_fails=0;'],
      }),
    );
  });

  it('removes a node’s line and nothing else', () => {
    const content = newContent(LAB, desired('10.40.0.11', '10.40.0.13', '10.40.0.14'));
    expect(content.split('\n')).toEqual(
      expectLines(LAB, {
        remove: ['    server 10.40.0.12:443 weight=1 max_fails=0;'],
        after: '    server 10.40.0.13:443 weight=1 max_fails=0;',
        insert: ['    server 10.40.0.14:443 weight=1 max_fails=0;'],
      }),
    );
  });

  it('returns one change: the whole file, nginx -t, a graceful reload', () => {
    const { changes } = planOn(LAB, desired('10.40.0.11', '10.40.0.13', '10.40.0.14'));
    const [change] = changes;
    expect(change?.summary).toBe('add 10.40.0.14:443, remove 10.40.0.12:443');
    expect(change?.writes).toHaveLength(1);
    expect(Object.keys(change?.writes?.[0] ?? {}).sort()).toEqual(['content', 'path']);
    expect(change?.writes?.[0]?.path).toBe('/etc/nginx/sites-available/pexapp');
    expect(change?.validate?.map(String)).toEqual(['nginx -t']);
    expect(change?.notify).toEqual([NGINX_RELOAD]);
    expect(change?.disruptive).toBeUndefined();
  });

  it('is idempotent: planning on its own result changes nothing', () => {
    const want = desired('10.40.0.13', '2001:db8::7', { address: 'node-9.example.com', weight: 5 });
    expect(planOn(newContent(LAB, want), want).changes).toEqual([]);
    expect(planOn(newContent(REAL, want), want).changes).toEqual([]);
  });

  it('keeps comments, tabs, spacing and the other upstream block of a hand-edited file', () => {
    const content = newContent(REAL, desired('10.40.0.12', 'conf-c.example.com', '10.40.0.14'));
    expect(content.split('\n')).toEqual(
      expectLines(REAL, {
        remove: ['\tserver 10.40.0.11:443   weight=1 max_fails=0;   # node A'],
        after: '\tserver conf-c.example.com:443 weight=1 max_fails=0;',
        insert: ['\tserver 10.40.0.14:443 weight=1 max_fails=0;'],
      }),
    );
    expect(content).toContain('    server 10.40.0.11:8443;'); // pexip_admin is not ours
  });

  it('writes IPv6 addresses in brackets and matches them however they are written', () => {
    const content = newContent(LAB, desired('10.40.0.11', '10.40.0.12', '10.40.0.13', '2001:DB8:0:0::12'));
    expect(content).toContain(
      '    server 10.40.0.13:443 weight=1 max_fails=0;\n    server [2001:db8::12]:443 weight=1 max_fails=0;\n',
    );
    const written = LAB.replace('10.40.0.13:443', '[2001:DB8::0:12]:443');
    expect(planOn(written, desired('10.40.0.11', '10.40.0.12', '2001:db8::12')).changes).toEqual([]);
  });

  it('adds host names, matching them without regard to case', () => {
    const content = newContent(LAB, desired('10.40.0.11', '10.40.0.12', '10.40.0.13', 'Conf-D.Example.com'));
    expect(content).toContain('    server conf-d.example.com:443 weight=1 max_fails=0;\n    keepalive 1024;');
    expect(planOn(REAL, desired('10.40.0.11', '10.40.0.12', 'CONF-C.example.com')).changes).toEqual([]);
  });

  it('rewrites only the lines whose declared parameters differ', () => {
    const want = desired({ address: '10.40.0.11', weight: 5 }, '10.40.0.12', {
      address: '10.40.0.13',
      max_fails: 0,
    });
    const content = newContent(LAB, want);
    expect(content.split('\n')).toEqual(
      LAB.split('\n').map((line) =>
        line === '    server 10.40.0.11:443 weight=1 max_fails=0;'
          ? '    server 10.40.0.11:443 weight=5 max_fails=0;'
          : line,
      ),
    );
    expect(planOn(LAB, want).changes[0]?.summary).toBe('update 10.40.0.11:443');
  });

  it('copies the parameters the existing lines share; falls back to the wizard’s when they differ', () => {
    const tuned = LAB.replaceAll('weight=1 max_fails=0', 'max_fails=3 fail_timeout=30s');
    expect(newContent(tuned, desired('10.40.0.11', '10.40.0.12', '10.40.0.13', '10.40.0.14'))).toContain(
      '    server 10.40.0.14:443 max_fails=3 fail_timeout=30s;\n',
    );
    const mixed = LAB.replace('10.40.0.11:443 weight=1', '10.40.0.11:443 weight=3');
    expect(newContent(mixed, desired('10.40.0.11', '10.40.0.12', '10.40.0.13', '10.40.0.14'))).toContain(
      '    server 10.40.0.14:443 weight=1 max_fails=0;\n',
    );
  });

  it('writes backup where the balancing allows it and refuses it with ip_hash', () => {
    const roundRobin = LAB.replace('    ip_hash;\n', '');
    const want = desired('10.40.0.11', '10.40.0.12', '10.40.0.13', { address: '10.40.0.14', backup: true });
    expect(newContent(roundRobin, want)).toContain(
      '    server 10.40.0.14:443 weight=1 max_fails=0 backup;\n',
    );
    expect(() => planOn(LAB, want)).toThrow(/ip_hash.*backup servers \(10\.40\.0\.14\)/);
  });

  it('edits servers that share a line with other directives', () => {
    const oneLine = 'upstream pexip { ip_hash; server 10.0.0.1:443; server 10.0.0.2:443; keepalive 8; }\n';
    expect(newContent(oneLine, desired('10.0.0.1', '10.0.0.3', '10.0.0.4'))).toBe(
      'upstream pexip { ip_hash; server 10.0.0.1:443; server 10.0.0.3:443; server 10.0.0.4:443; keepalive 8; }\n',
    );
  });

  it('removes a second line for the same node (nginx would count it twice)', () => {
    const doubled = LAB.replace(
      '    keepalive',
      '    server 10.40.0.11:443 weight=1 max_fails=0;\n    keepalive',
    );
    expect(newContent(doubled, desired('10.40.0.11', '10.40.0.12', '10.40.0.13'))).toBe(LAB);
  });

  it('keeps every byte it does not own, even bytes that are not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('# caf\xe9 \xff\n', 'latin1'), Buffer.from(LAB)]);
    const facts = fakeFacts({ files: { [PEXAPP]: bytes } });
    const { changes } = upstreamsRecipe.plan(desired('10.40.0.11', '10.40.0.12'), facts, ctx);
    const written = changes[0]?.writes?.[0]?.content as Buffer;
    const expected = Buffer.from(
      bytes.toString('latin1').replace('    server 10.40.0.13:443 weight=1 max_fails=0;\n', ''),
      'latin1',
    );
    expect(written.equals(expected)).toBe(true);
  });

  it('warns below 3 active conferencing nodes', () => {
    const warning = 'the Pexip guide recommends at least 3 conferencing nodes for resilience';
    expect(planOn(LAB, desired('10.40.0.11', '10.40.0.12')).warnings?.[0]).toContain(warning);
    const withDown = desired('10.40.0.11', '10.40.0.12', { address: '10.40.0.13', down: true });
    expect(planOn(LAB, withDown).warnings).toEqual([
      expect.stringMatching(/^only 2 active conferencing nodes/),
    ]);
  });

  it('is a plan error when the file or its upstream pexip block is missing or unreadable', () => {
    const want = desired('10.40.0.11');
    const error = (text: string | undefined) => {
      try {
        planOn(text, want);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const missing = error(undefined);
    expect(missing).toBeInstanceOf(HostError);
    expect((missing as HostError).reason).toBe('plan');
    expect((missing as HostError).message).toMatch(
      /^rp1: \/etc\/nginx\/sites-available\/pexapp does not exist/,
    );
    expect((error(LAB.replace('upstream pexip', 'upstream other')) as Error).message).toMatch(
      /^rp1: .*has no "upstream pexip" block/,
    );
    expect((error('upstream pexip {\n') as HostError).reason).toBe('plan');
  });

  it('plans from pexapp alone: nginx -T is read only after a change, for verification', () => {
    expect(upstreamsRecipe.facts.commands).toEqual([
      expect.objectContaining({ id: NGINX_DUMP, afterChange: true }),
    ]);
    const facts = fakeFacts({ files: { [PEXAPP]: LAB } });
    const { changes } = upstreamsRecipe.plan(desired('10.40.0.11', '10.40.0.12', '10.40.0.99'), facts, ctx);
    expect(changes.map((c) => c.summary)).toEqual(['add 10.40.0.99:443, remove 10.40.0.13:443']);
  });
});

describe('upstreams verify', () => {
  // What `nginx -T` prints on a lab appliance: every file nginx reads, each under a header.
  const dump = (site: string) =>
    [
      ['/etc/nginx/nginx.conf', nginxConf],
      ['/etc/nginx/conf.d/logging.conf', nginxLoggingConf],
      ['/etc/nginx/sites-enabled/pexapp', site],
      ['/etc/nginx/includes/pex-rewrites.conf', pexRewrites],
    ]
      .map(([path, text]) => `# configuration file ${path}:\n${text}\n`)
      .join('');
  const V4_APPLIANCE_FILES = {
    '/etc/hostname': 'rp1\n',
    '/etc/network/interfaces': 'auto eth0\niface eth0 inet dhcp\n',
    '/etc/init.d/rfc5766-turn-server': '#!/bin/sh\n',
  };
  const verify = (output: string, code = 0, nginx: 0 | 3 = 0) =>
    upstreamsRecipe.verify?.(
      desired('10.40.0.11', '10.40.0.12', '10.40.0.13'),
      fakeFacts({
        files: V4_APPLIANCE_FILES,
        commands: { [NGINX_DUMP]: { code, output }, 'appliance.services': `nginx ${nginx}\n` },
      }),
      ctx,
    );

  it('passes when the configuration nginx loads lists exactly the desired servers', () => {
    expect(verify(dump(LAB))).toEqual([
      {
        kind: 'assert',
        ok: true,
        message: 'nginx loads upstream pexip with exactly 10.40.0.11:443, 10.40.0.12:443, 10.40.0.13:443',
      },
      { kind: 'assert', ok: true, message: 'nginx runs' },
    ]);
  });

  it('fails when nginx is not running, whatever nginx -T reads from disk', () => {
    expect(verify(dump(LAB), 0, 3)?.[1]).toEqual({
      kind: 'assert',
      ok: false,
      message: 'nginx is not running',
    });
  });

  it('fails on a missing or extra server, a failing nginx -T, or no block', () => {
    const other = LAB.replace('10.40.0.13:443', '10.40.0.99:443');
    expect(verify(dump(other))?.[0]).toMatchObject({
      ok: false,
      message: expect.stringMatching(/missing 10\.40\.0\.13:443; unexpected 10\.40\.0\.99:443/),
    });
    expect(verify('', 1)?.[0]).toMatchObject({
      ok: false,
      message: expect.stringContaining('nginx -T failed'),
    });
    expect(verify(dump(''))?.[0]).toMatchObject({
      ok: false,
      message: expect.stringContaining('no upstream pexip'),
    });
  });
});

describe('upstreams section', () => {
  const check = (value: unknown) => upstreamsSection.safeParse(value);

  it('accepts addresses, host names and objects, with port 443 by default', () => {
    const parsed = check({
      nodes: [
        '10.0.0.1',
        '2001:db8::1',
        'node-1.example.com',
        {
          address: 'n2',
          port: 8443,
          weight: 2,
          max_fails: 0,
          fail_timeout: '10s',
          backup: false,
          down: false,
        },
      ],
    });
    expect(parsed.success).toBe(true);
    expect(upstreamNodes(parsed.data!).map((n) => n.port)).toEqual([443, 443, 443, 8443]);
  });

  it('refuses hostile and malformed values', () => {
    for (const bad of [
      '10.0.0.1; reboot',
      '10.0.0.1\nreboot',
      '$(id)',
      '`id`',
      'a b',
      '10.0.0.256',
      'fe80::1%eth0',
      '-node',
      '',
    ]) {
      expect(check({ nodes: [bad] }).success, JSON.stringify(bad)).toBe(false);
      expect(check({ nodes: [{ address: bad }] }).success, JSON.stringify(bad)).toBe(false);
    }
    expect(check({ nodes: [{ address: '10.0.0.1', port: 0 }] }).success).toBe(false);
    expect(check({ nodes: [{ address: '10.0.0.1', weight: '5; x' }] }).success).toBe(false);
    expect(check({ nodes: [{ address: '10.0.0.1', fail_timeout: '10s;' }] }).success).toBe(false);
    expect(check({ nodes: [{ address: '10.0.0.1', maxfails: 1 }] }).success).toBe(false);
  });

  it('refuses an empty list with the reason', () => {
    const parsed = check({ nodes: [] });
    expect(parsed.error?.issues[0]?.message).toBe('a reverse proxy needs at least one conferencing node');
  });

  it('refuses duplicate addresses, however written', () => {
    for (const pair of [
      ['10.0.0.1', { address: '10.0.0.1', port: 8443 }],
      ['2001:db8::1', '2001:DB8:0::1'],
      ['Node.example.com', 'node.example.com'],
    ]) {
      const parsed = check({ nodes: pair });
      expect(parsed.error?.issues[0]?.message).toMatch(/^duplicate conferencing node/);
      expect(parsed.error?.issues[0]?.path).toEqual(['nodes', 1]);
    }
  });

  it('gives the recipe its desired state from the appliance’s section', () => {
    const appliance = (sections: Record<string, unknown>) =>
      ({
        name: 'rp1',
        groups: [],
        ssh: { host: 'rp1' },
        sudo: {},
        sections,
        source: { file: 'x', line: 1, column: 1 },
      }) as ApplianceConfig;
    const secret = () => '';
    const now = new Date(0);
    expect(upstreamsRecipe.desired({ appliance: appliance({}), secret, now })).toBeUndefined();
    expect(
      upstreamsRecipe.desired({ appliance: appliance({ upstreams: { nodes: ['10.0.0.1'] } }), secret, now }),
    ).toEqual({
      nodes: [{ address: '10.0.0.1', port: 443 }],
    });
  });
});
