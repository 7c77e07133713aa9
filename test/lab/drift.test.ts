/**
 * `rpctl drift` against real appliances (issue: scheduled drift checks). Every managed file is
 * changed behind rpctl's back on one appliance; drift must name exactly that host and recipe, in
 * every format. Each recipe adds its row to MANAGED_FILES.
 *
 * second-nic needs real NICs: the target is a networked appliance (network.ts) whose second NIC is
 * configured by rpctl itself (commit-confirmed) in beforeAll and after every reset of it; only the
 * target manages that recipe.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFiles, labSh, readState, reset, spec, stop } from './lab.js';
import { EXTERNAL_GATEWAY, INTERNAL_ROUTER, labNics, MANAGEMENT_NETWORK } from './network-addresses.js';
import { pythonStarts } from './python-starts.js';
import { labInventoryFile, rpctl, scratch } from './rpctl.js';

const names = readState()!.appliances.map((a) => a.name);
const target = names[1]!; // a v7 appliance
const others = names.filter((n) => n !== target);

interface ManagedFile {
  recipe: string;
  path: string;
  /** change the file on the appliance the way a person with sudo nano would */
  tamper(host: string): void;
  /** the appliances that manage it (default: all) */
  hosts?: readonly string[];
}

/** The second NIC of a networked appliance in the lab's Appendix 2 layout (network-addresses.ts). */
function secondNic(name: string) {
  const nics = labNics(spec(name));
  return {
    internal: { address: nics.internalAddress, netmask: '255.255.255.0' },
    external: {
      address: nics.externalAddress,
      netmask: '255.255.255.128',
      gateway: EXTERNAL_GATEWAY,
      dns: ['198.51.100.53'],
    },
    routes: [{ to: MANAGEMENT_NETWORK, via: INTERNAL_ROUTER }],
  };
}

const MANAGED_FILES: ManagedFile[] = [
  {
    recipe: 'upstreams',
    path: '/etc/nginx/sites-available/pexapp',
    tamper: (host) =>
      labSh(
        host,
        "sed -i 's/server 127.0.3.10:443/server 127.0.3.99:443/' /etc/nginx/sites-available/pexapp",
      ),
  },
  {
    recipe: 'certificate',
    path: '/etc/nginx/ssl/pexip.pem',
    tamper: (host) =>
      labSh(
        host,
        'cd /tmp && openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=tampered -keyout k.pem -out c.pem 2>/dev/null && cat c.pem k.pem > /etc/nginx/ssl/pexip.pem && rm k.pem c.pem',
      ),
  },
  {
    recipe: 'second-nic',
    path: '/etc/netplan/01-netcfg.yaml', // the target is v7
    hosts: [target],
    tamper: (host) => labSh(host, "sed -i 's/- 198.51.100.53$/- 198.51.100.99/' /etc/netplan/01-netcfg.yaml"),
  },
  {
    recipe: 'turn-credentials',
    path: '/etc/turnuserdb.conf',
    tamper: (host) =>
      labSh(
        host,
        'turnadmin -a -b /etc/turnuserdb.conf -u pexip -r lab.example.com -p tampered-pw >/dev/null 2>&1',
      ),
  },
  {
    recipe: 'turn-nat',
    path: '/etc/turnserver.conf',
    tamper: (host) => labSh(host, 'echo external-ip=203.0.113.9 >> /etc/turnserver.conf'),
  },
  {
    recipe: 'fail2ban',
    path: '/etc/fail2ban/jail.local',
    tamper: (host) => labSh(host, "sed -i 's/^maxretry = 10$/maxretry = 3/' /etc/fail2ban/jail.local"),
  },
];

/**
 * The lab inventory managing every recipe at the values the lab appliances have: each appliance's
 * current pexip.pem, the lab's TURN user, no external-ip, fail2ban as shipped.
 */
function inventoryManagingEverything(): string {
  const pems = new Map(
    names.map((name) => {
      const path = join(scratch, `${name}-pexip.pem`);
      writeFileSync(path, labSh(name, 'cat /etc/nginx/ssl/pexip.pem'), { mode: 0o600 });
      return [name, path];
    }),
  );
  return labInventoryFile((doc) => {
    for (const name of names) {
      doc.appliances[name].certificate = { pem: `file:${pems.get(name)}` };
      doc.appliances[name].turn = {
        credentials: { username: 'pexip', password: `file:${clientFiles().turnPasswordFile}` },
        externalIp: null,
      };
      doc.appliances[name].fail2ban = { enabled: false, bantime: 300, findtime: 300, maxretry: 10 };
    }
    doc.appliances[target].network = secondNic(target);
  });
}

const managedPaths = (host: string) =>
  MANAGED_FILES.filter((f) => !f.hosts || f.hosts.includes(host)).map((f) => f.path);

/** Reset the target to a freshly installed networked appliance, then give it its second NIC. */
async function resetTarget(inventory: string): Promise<void> {
  await reset([target], { networked: true });
  const result = await rpctl([
    'apply',
    '-i',
    inventory,
    '--limit',
    target,
    '--recipes',
    'second-nic',
    '--allow-disruptive',
    '--confirm-timeout',
    '30',
    '--yes',
  ]);
  if (result.code !== 0) throw new Error(`second NIC on ${target}: ${result.stdout}${result.stderr}`);
}

type Format = 'text' | 'json' | 'junit' | 'prometheus';

async function drift(inventory: string, format: Format, extra: string[] = []) {
  return rpctl(['drift', '-i', inventory, '--format', format, ...extra]);
}

interface JunitCase {
  suite: string;
  name: string;
  failure: boolean;
  error: boolean;
}

/** Parse JUnit XML with a real XML parser (Python's), returning the test cases. */
function parseJunit(xml: string): JunitCase[] {
  const file = join(scratch, 'report.xml');
  writeFileSync(file, xml);
  const script = `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'testsuites', root.tag
out = []
for suite in root.findall('testsuite'):
    cases = suite.findall('testcase')
    assert int(suite.get('tests')) == len(cases)
    assert int(suite.get('failures')) == sum(1 for c in cases if c.find('failure') is not None)
    assert int(suite.get('errors')) == sum(1 for c in cases if c.find('error') is not None)
    for c in cases:
        out.append({'suite': suite.get('name'), 'name': c.get('name'), 'failure': c.find('failure') is not None, 'error': c.find('error') is not None})
print(json.dumps(out))
`;
  const result = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`not JUnit XML: ${result.stderr}`);
  return JSON.parse(result.stdout) as JunitCase[];
}

function promtool(text: string): { code: number; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: result.status ?? -1, output: result.stdout + result.stderr };
}

/** The value of one sample in Prometheus text output. */
const sample = (text: string, metric: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

describe('rpctl drift', () => {
  let inventory: string;
  beforeAll(async () => {
    await reset(names, { networked: false });
    await reset([target], { networked: true });
    inventory = inventoryManagingEverything();
    await resetTarget(inventory);
  });
  afterAll(async () => {
    await reset(names, { networked: false });
  });

  it('finds a fleet in sync in every format, reading only', async () => {
    const before = names.map((n) => labSh(n, `sha256sum ${managedPaths(n).join(' ')}`));
    for (const format of ['text', 'json', 'junit', 'prometheus'] as const) {
      const result = await drift(inventory, format);
      expect(result.code, `${format}: ${result.stdout} ${result.stderr}`).toBe(0);
    }
    expect(names.map((n) => labSh(n, `sha256sum ${managedPaths(n).join(' ')}`))).toEqual(before);
  });

  it('starts no Python on any appliance: fail2ban from its PID file, the jail from its files', async () => {
    const starts = await pythonStarts(names, async () => {
      const result = await drift(inventory, 'json');
      expect(result.code, result.stderr).toBe(0);
    });
    expect(starts).toEqual(Object.fromEntries(names.map((n) => [n, []])));
  });

  it('reports an enabled fail2ban running, and stopped once `service fail2ban stop` stopped it', async () => {
    const host = others[0]!;
    const enabled = labInventoryFile((doc) => {
      doc.appliances[host].fail2ban = { enabled: true };
    });
    const fail2ban = async () => {
      const result = await rpctl(['drift', '-i', enabled, '--limit', host, '--format', 'json']);
      const json = JSON.parse(result.stdout) as {
        hosts: { services?: { service: string; running: boolean }[] }[];
      };
      return json.hosts[0]?.services?.find((s) => s.service === 'fail2ban');
    };
    labSh(host, 'service fail2ban start >/dev/null 2>&1');
    try {
      expect(await fail2ban()).toEqual({ service: 'fail2ban', running: true });
      labSh(host, 'service fail2ban stop >/dev/null 2>&1');
      expect(await fail2ban()).toEqual({ service: 'fail2ban', running: false });
    } finally {
      labSh(host, 'service fail2ban stop >/dev/null 2>&1 || true'); // stopped already when all passed
    }
  });

  for (const file of MANAGED_FILES) {
    it(`names exactly the host and recipe whose ${file.path} was changed by hand, in every format`, async () => {
      file.tamper(target);
      try {
        const text = await drift(inventory, 'text');
        expect(text.code).toBe(2);
        expect(text.stdout).toContain(`${target}: drift`);
        expect(text.stdout).toContain(`~ ${file.recipe}:`);
        expect(text.stdout).toContain(`in sync (${others.length}): ${others.join(', ')}`);

        const json = JSON.parse((await drift(inventory, 'json')).stdout) as {
          hosts: { name: string; status: string; changes: { recipe: string }[] }[];
        };
        for (const host of json.hosts) {
          expect(host.status).toBe(host.name === target ? 'drift' : 'in-sync');
          expect(host.changes.map((c) => c.recipe)).toEqual(host.name === target ? [file.recipe] : []);
        }

        const junit = await drift(inventory, 'junit');
        expect(junit.code).toBe(2);
        const cases = parseJunit(junit.stdout);
        const failing = cases.filter((c) => c.failure || c.error).map((c) => `${c.suite}/${c.name}`);
        expect(failing).toEqual([`${target}/${file.recipe}`]);
        expect(cases.filter((c) => c.name === file.recipe).map((c) => c.suite)).toEqual(file.hosts ?? names);

        const prom = await drift(inventory, 'prometheus');
        expect(prom.code).toBe(2);
        expect(promtool(prom.stdout)).toEqual({ code: 0, output: '' });
        for (const name of file.hosts ?? names) {
          expect(sample(prom.stdout, `rpctl_drift{host="${name}",recipe="${file.recipe}"}`)).toBe(
            name === target ? 1 : 0,
          );
        }
      } finally {
        await resetTarget(inventory);
      }
    });
  }

  it('reports a stopped appliance as unreachable (exit 1) and still reports the others', async () => {
    await stop(target);
    try {
      const json = await drift(inventory, 'json');
      expect(json.code).toBe(1);
      const hosts = JSON.parse(json.stdout).hosts as {
        name: string;
        status: string;
        error?: { message: string };
      }[];
      expect(hosts.find((h) => h.name === target)).toMatchObject({ status: 'unreachable' });
      expect(hosts.filter((h) => h.name !== target).map((h) => h.status)).toEqual(
        others.map(() => 'in-sync'),
      );

      const junit = parseJunit((await drift(inventory, 'junit')).stdout);
      // one error per recipe the unreachable host manages, none elsewhere
      expect(junit.filter((c) => c.error).map((c) => `${c.suite}/${c.name}`)).toEqual([
        ...MANAGED_FILES.map((f) => `${target}/${f.recipe}`),
        `${target}/services`,
      ]);
      const prom = await drift(inventory, 'prometheus');
      expect(prom.code).toBe(1);
      expect(promtool(prom.stdout).code).toBe(0);
      expect(sample(prom.stdout, `rpctl_host_up{host="${target}"}`)).toBe(0);
      expect(sample(prom.stdout, `rpctl_host_up{host="${others[0]}"}`)).toBe(1);
    } finally {
      await resetTarget(inventory);
    }
  });

  it('splits the fleet into stable shards that together cover every host once', async () => {
    const shard = async (k: number, n: number) =>
      (
        JSON.parse((await drift(inventory, 'json', ['--shard', `${k}/${n}`])).stdout).hosts as {
          name: string;
        }[]
      ).map((h) => h.name);
    for (const n of [2, 3]) {
      const parts = await Promise.all(Array.from({ length: n }, (_, i) => shard(i + 1, n)));
      expect(parts.flat().sort()).toEqual([...names].sort());
      expect(await shard(1, n)).toEqual(parts[0]); // stable
    }
    expect((await drift(inventory, 'json', ['--shard', '3/2'])).code).toBe(3);
  });

  it('warns about a certificate expiring soon in every format; --fail-on-expiry makes it drift', async () => {
    // The lab's certificates are valid for 1095 days: a 2000-day window catches them.
    const warn = ['--warn-expiry-days', '2000'];
    const text = await drift(inventory, 'text', warn);
    expect(text.code).toBe(0);
    // hosts with the same warning share one line: "lab-1, lab-3, lab-4: warning: ..."
    expect(text.stdout).toMatch(
      new RegExp(`${names[0]}[^\\n]*: warning: certificate expires in 109[34] days`),
    );
    const json = JSON.parse((await drift(inventory, 'json', warn)).stdout);
    expect(json.hosts[0].certificate).toMatchObject({ warn: true });
    const prom = (await drift(inventory, 'prometheus', warn)).stdout;
    expect(sample(prom, `rpctl_certificate_expiry_warning{host="${names[0]}"}`)).toBe(1);
    expect(sample(prom, `rpctl_certificate_expiry_seconds{host="${names[0]}"}`)).toBeGreaterThan(
      1093 * 86_400,
    );
    const junit = parseJunit((await drift(inventory, 'junit', warn)).stdout);
    // the networked target too: its lab relays forward 22 and 443, as a real management address serves both
    expect(junit.filter((c) => c.name === 'certificate expiry').map((c) => c.suite)).toEqual(names);
    const failing = await drift(inventory, 'junit', [...warn, '--fail-on-expiry']);
    expect(failing.code).toBe(2);
    expect(
      parseJunit(failing.stdout)
        .filter((c) => c.failure)
        .map((c) => c.name),
    ).toEqual(names.map(() => 'certificate expiry'));
  });

  it('never takes the apply lock and never prompts', async () => {
    let answer!: (text: string) => void;
    let asked!: () => void;
    const waiting = new Promise<void>((r) => (asked = r));
    const holding = rpctl(
      [
        'apply',
        '-i',
        labInventoryFile((doc) => doc.appliances[target].upstreams.nodes.push('127.0.3.70')),
        '--limit',
        target,
      ],
      {
        tty: true,
        env: { CI: '1' },
        prompt: () => {
          asked();
          return new Promise((r) => (answer = r));
        },
      },
    );
    await waiting; // the apply holds the lock on target, waiting for its operator
    let prompted = false;
    const checked = await rpctl(['drift', '-i', inventory, '--limit', target, '--format', 'json'], {
      tty: true,
      prompt: async () => {
        prompted = true;
        return 'yes';
      },
    });
    expect(checked.code).toBe(0);
    expect(prompted).toBe(false);
    answer('no');
    expect((await holding).code).toBe(2);
  });

  it('keeps a history: since when a host drifts, and whether an apply corrected drift or changed the inventory', async () => {
    const state = join(scratch, 'history-state');
    const env = { RPCTL_STATE_DIR: state };
    MANAGED_FILES[0]!.tamper(target);
    await rpctl(['drift', '-i', inventory], { env });
    await rpctl(['drift', '-i', inventory], { env });
    const history = JSON.parse((await rpctl(['drift', 'history', '--format', 'json'], { env })).stdout)
      .spans as {
      host: string;
      recipe: string;
      state: string;
      since: string;
      lastCheck: string;
    }[];
    const span = history.find((s) => s.host === target && s.recipe === 'upstreams')!;
    expect(span.state).toBe('drift');
    expect(span.since < span.lastCheck).toBe(true);

    // Same inventory: the apply puts back what someone changed by hand -> corrective.
    const fix = JSON.parse(
      (await rpctl(['apply', '-i', inventory, '--yes', '--format', 'json'], { env })).stdout,
    );
    expect(fix.hosts.find((h: { name: string }) => h.name === target).changes[0].kind).toBe('corrective');
    // A new desired state -> intentional.
    const changed = labInventoryFile((doc) => doc.appliances[target].upstreams.nodes.push('127.0.3.71'));
    const intent = JSON.parse(
      (await rpctl(['apply', '-i', changed, '--yes', '--format', 'json', '--limit', target], { env })).stdout,
    );
    expect(intent.hosts[0].changes[0].kind).toBe('intentional');
    const records = spawnSync('sh', ['-c', `cat ${state}/runs/*-apply.json`], { encoding: 'utf8' }).stdout;
    expect(records).toContain('"kind": "corrective"');
    expect(records).toContain('"kind": "intentional"');
    const after = JSON.parse((await rpctl(['drift', 'history', '--format', 'json'], { env })).stdout)
      .spans as typeof history;
    expect(after.find((s) => s.host === target && s.recipe === 'upstreams')?.state).toBe('in-sync');
  });
});
