/**
 * The pyinfra side of the comparison, run from a checkout the operator made (`--pyinfra PATH`;
 * PyPI is unreachable and Debian has no pyinfra, see README Performance), with Debian's python3:
 *
 * - `check.py`, run with `--dry`, is rpctl drift's equivalent: `files.put` of every file rpctl's
 *   facts read with the content each appliance has (pyinfra compares checksums), `files.file`
 *   absent for the others, and every read-only command rpctl's facts run as a `Command` fact
 *   (facts run in dry mode; operations do not);
 * - `apply.py` is the upstream change: `files.put` of the pexapp file, and only when it changed,
 *   `nginx -t` and a reload.
 *
 * Settings as for Ansible: every host at once (`--parallel` = fleet size), sudo with the password.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientFiles, type LabConfig, type LabState } from '../test/lab/lab.js';
import { factReads, PEXAPP, type PeerFiles } from './peer-files.js';
import type { Route } from './wan.js';

/** Debian's interpreter, which has the python3-* packages pyinfra needs (not a pyenv shim). */
export const PYTHON = '/usr/bin/python3';
/**
 * What pyinfra's console script does: import the CLI package first, so gevent patches the
 * standard library before anything uses threads (`python3 -m pyinfra` imports the API first and
 * hangs at its first progress spinner).
 */
const PYINFRA_CLI = ['-c', 'import pyinfra_cli.__main__'];

export interface PyinfraProject {
  dir: string;
  inventory(size: number, route: Route): string;
  /** argv of `pyinfra INVENTORY DEPLOY EXTRA...` from this checkout, `size` hosts at once */
  argv(inventory: string, size: number, deploy: 'check.py' | 'apply.py', extra: string[]): string[];
  env: NodeJS.ProcessEnv;
}

const py = (value: unknown) => JSON.stringify(value); // a JSON string or list is a Python literal

function checkDeploy(): string {
  const { files, commands } = factReads();
  return `# rpctl drift's reads, as pyinfra does them (run with --dry)
from pyinfra import host
from pyinfra.facts.server import Command
from pyinfra.operations import files

FILES = ${py(files)}
COMMANDS = ${py(commands.map((c) => c.command.text))}

for path in FILES:
    if path in host.data.present_files:
        files.put(name=path + " as desired", src=host.data.peer_files + "/" + host.name + path, dest=path)
    else:
        files.file(name=path + " absent", path=path, present=False)

# a failing command is data, not an error (as Ansible's failed_when: false)
for command in COMMANDS:
    host.get_fact(Command, command="(" + command + "\\n) || true")
`;
}

function applyDeploy(): string {
  return `# the upstream change, as pyinfra does it
from pyinfra import host
from pyinfra.operations import files, server

put = files.put(
    name="upstream conferencing nodes",
    src=host.data.peer_files + "/" + host.name + "/" + host.data.variant,
    dest=${py(PEXAPP)},
)
if put.changed:
    server.shell(name="validate nginx", commands=["nginx -t"])
    server.shell(name="graceful reload", commands=["service nginx reload"])
`;
}

export function pyinfraProject(
  cfg: LabConfig,
  state: LabState,
  files: PeerFiles,
  checkout: string,
): PyinfraProject {
  const dir = join(cfg.labDir, 'pyinfra');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const client = clientFiles(cfg);
  writeFileSync(
    join(dir, 'config.py'),
    `from pyinfra import config\n\nconfig.SUDO = True\nconfig.USE_SUDO_PASSWORD = ${py(client.sudoPassword())}\nconfig.CONNECT_TIMEOUT = 30\n`,
    { mode: 0o600 },
  );
  writeFileSync(join(dir, 'check.py'), checkDeploy());
  writeFileSync(join(dir, 'apply.py'), applyDeploy());
  return {
    dir,
    inventory(size, route) {
      const path = join(dir, `inventory_${size}_${route.endpoint(state.appliances[0]!.name).port}.py`);
      const hosts = state.appliances.slice(0, size).map((a) => {
        const { address, port } = route.endpoint(a.name);
        const data = {
          ssh_hostname: address,
          ssh_port: port,
          ssh_user: 'pexip',
          ssh_key: client.identityFile,
          ssh_known_hosts_file: route.knownHosts,
          ssh_strict_host_key_checking: 'yes',
          peer_files: files.dir,
          present_files: files.present.get(a.name) ?? [],
        };
        return `    (${py(a.name)}, ${py(data)}),`;
      });
      writeFileSync(path, `hosts = [\n${hosts.join('\n')}\n]\n`);
      return path;
    },
    argv: (inventory, size, deploy, extra) => [
      PYTHON,
      ...PYINFRA_CLI,
      '--parallel',
      String(size),
      ...extra,
      inventory,
      deploy,
    ],
    env: { PYTHONPATH: checkout, PYTHONDONTWRITEBYTECODE: '1' },
  };
}

/**
 * The version a pyinfra checkout runs as (`pyinfra --version`), or why it cannot run. A checkout
 * runs once its entry points are registered (`python3 setup.py egg_info`, see README).
 */
export function pyinfraVersion(checkout: string): { version: string } | { problem: string } {
  if (!existsSync(join(checkout, 'pyinfra', '__init__.py')))
    return { problem: `${checkout} is not a pyinfra checkout (no pyinfra/__init__.py)` };
  const result = spawnSync(PYTHON, [...PYINFRA_CLI, '--version'], {
    encoding: 'utf8',
    cwd: checkout,
    env: { ...process.env, PYTHONPATH: checkout, PYTHONDONTWRITEBYTECODE: '1' },
  });
  const match = /pyinfra: v?(\S+)/.exec(result.stdout);
  if (result.status === 0 && match) return { version: `pyinfra ${match[1]}` };
  const said = `${result.stderr}`.trim().split('\n').at(-1) ?? `exit ${result.status}`;
  return { problem: `pyinfra in ${checkout} does not start: ${said}` };
}

export interface PyinfraTotals {
  hosts: number;
  changed: number;
  errors: number;
  noConnection: number;
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * Per-host totals of pyinfra's closing summary: `[lab-1] Operations: 13 Change: 0 No change: 13`
 * after --dry, `[lab-1] Changed: 3 No change: 0 Errors: 0` after a run, `No connection`. A host
 * counts once however many streams repeat its line.
 */
export function parsePyinfraSummary(output: string): PyinfraTotals {
  const byHost = new Map<string, { changed: number; errors: number; connected: boolean }>();
  for (const line of output.replace(ANSI, '').split('\n')) {
    const host = /^\s*\[([^\]]+)\]\s+(.*)$/.exec(line);
    if (!host) continue;
    const [, name = '', rest = ''] = host;
    const dry = /^Operations: \d+\s+Change: (\d+)/.exec(rest);
    const done = /^Changed: (\d+).*Errors: (\d+)/.exec(rest);
    if (dry) byHost.set(name, { changed: Number(dry[1]), errors: 0, connected: true });
    else if (done) byHost.set(name, { changed: Number(done[1]), errors: Number(done[2]), connected: true });
    else if (/^No connection/.test(rest)) byHost.set(name, { changed: 0, errors: 0, connected: false });
  }
  const hosts = [...byHost.values()];
  return {
    hosts: hosts.filter((h) => h.connected).length,
    changed: hosts.reduce((n, h) => n + h.changed, 0),
    errors: hosts.reduce((n, h) => n + h.errors, 0),
    noConnection: hosts.filter((h) => !h.connected).length,
  };
}

/** pyinfra's error lines about hosts (`[lab-3] Could not connect ...`, `--> [lab-3] Error: ...`). */
export const pyinfraFailures = (output: string): string[] =>
  output
    .replace(ANSI, '')
    .split('\n')
    .filter((line) => /\[[^\]]+\].*(error|could not|failed|unreachable)/i.test(line))
    .map((line) => line.trim().slice(0, 400));
