/**
 * The Ansible side of the comparison: a project (config, inventory, playbooks, per-host files)
 * doing what rpctl does, the way an Ansible user would write it.
 *
 * - `check.yml`, run with `--check --diff`, is rpctl drift's equivalent: every file rpctl's facts
 *   read is compared with its desired content by `copy` (the content each appliance has, so the
 *   fleet is in sync), and every read-only command rpctl's facts run is run by `shell`, verbatim.
 * - `apply.yml` is rpctl apply's equivalent for the upstream change: `copy` the pexapp file
 *   (with a backup), then validate with `nginx -t` and reload, as handlers.
 *
 * Settings follow the issue: forks = fleet size, pipelining on, fact gathering off, become with
 * the sudo password. SSH multiplexing (ControlPersist) stays on as Ansible ships it, so each host
 * costs one connection per run; the masters are closed after each run, untimed, so every run starts
 * from a cold connection as rpctl does. The same playbooks also run with the Mitogen strategy
 * (Debian's ansible-mitogen), the fastest Ansible its users run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientFiles, type LabConfig, type LabState } from '../test/lab/lab.js';
import { factReads, PEXAPP, type PeerFiles } from './peer-files.js';
import type { Route } from './wan.js';

export interface AnsibleProject {
  dir: string;
  /** writes the inventory of the first `size` appliances, reached by `route`; returns its path */
  inventory(size: number, route: Route): string;
  /** ANSIBLE_CONFIG for plain Ansible or for Ansible with the Mitogen strategy */
  config(variant: 'plain' | 'mitogen'): string;
}

const yamlString = (text: string) => JSON.stringify(text);

function checkPlaybook(): string {
  const { files, commands } = factReads();
  const tasks = [
    ...files.flatMap((path) => [
      [
        `    - name: ${yamlString(`${path} as desired`)}`,
        '      ansible.builtin.copy:',
        `        src: ${yamlString(`{{ peer_files }}/{{ inventory_hostname }}${path}`)}`,
        `        dest: ${yamlString(path)}`,
        `      when: ${yamlString(`${yamlString(path)} in present_files`)}`,
      ].join('\n'),
      // rpctl learns that a file is absent from the same read; Ansible needs a stat
      [
        `    - name: ${yamlString(`${path} absent`)}`,
        '      ansible.builtin.stat:',
        `        path: ${yamlString(path)}`,
        `      when: ${yamlString(`${yamlString(path)} not in present_files`)}`,
      ].join('\n'),
    ]),
    ...commands.map(({ id, command }) =>
      [
        `    - name: ${yamlString(`fact ${id}`)}`,
        `      ansible.builtin.shell: ${yamlString(command.text)}`,
        '      changed_when: false',
        '      failed_when: false',
        '      check_mode: false',
      ].join('\n'),
    ),
  ];
  return `- hosts: all\n  become: true\n  gather_facts: false\n  tasks:\n${tasks.join('\n')}\n`;
}

function applyPlaybook(): string {
  return `- hosts: all
  become: true
  gather_facts: false
  vars:
    variant: pexapp
  tasks:
    - name: upstream conferencing nodes
      ansible.builtin.copy:
        src: "{{ peer_files }}/{{ inventory_hostname }}/{{ variant }}"
        dest: ${yamlString(PEXAPP)}
        backup: true
      notify: reload nginx
  handlers:
    - name: validate nginx
      ansible.builtin.command: nginx -t
      listen: reload nginx
    - name: graceful reload
      ansible.builtin.command: service nginx reload
      listen: reload nginx
`;
}

/**
 * Mitogen runs its own SSH connection per host for the whole play (no ControlPersist master to
 * leave behind); plain Ansible multiplexes as it ships.
 */
function ansibleCfg(dir: string, variant: 'plain' | 'mitogen'): string {
  const ssh =
    variant === 'plain'
      ? `-F /dev/null -o ControlMaster=auto -o ControlPersist=60s -o IdentitiesOnly=yes`
      : `-F /dev/null -o ControlMaster=no -o IdentitiesOnly=yes`;
  return `[defaults]
gathering = explicit
host_key_checking = True
retry_files_enabled = False
interpreter_python = /usr/bin/python3
timeout = 30
${variant === 'mitogen' ? 'strategy = mitogen_linear\n' : ''}
[ssh_connection]
pipelining = True
control_path_dir = ${join(dir, 'cp')}
ssh_args = ${ssh}
`;
}

/**
 * The interpreter as a host variable, not only interpreter_python: Mitogen 0.3.3 ignores the
 * setting, starts /usr/bin/python (absent on an appliance) and logs in again with python3.
 */
const PYTHON_VAR = 'ansible_python_interpreter: /usr/bin/python3\n';

export function ansibleProject(cfg: LabConfig, state: LabState, files: PeerFiles): AnsibleProject {
  const dir = join(cfg.labDir, 'ansible');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'cp'), { recursive: true, mode: 0o700 });
  const client = clientFiles(cfg);
  for (const variant of ['plain', 'mitogen'] as const)
    writeFileSync(join(dir, `ansible-${variant}.cfg`), ansibleCfg(dir, variant));
  mkdirSync(join(dir, 'group_vars'), { mode: 0o700 });
  writeFileSync(
    join(dir, 'group_vars', 'all.yml'),
    `ansible_user: pexip\nansible_ssh_private_key_file: ${yamlString(client.identityFile)}\nansible_become_password: ${yamlString(client.sudoPassword())}\npeer_files: ${yamlString(files.dir)}\n${PYTHON_VAR}`,
    { mode: 0o600 },
  );
  writeFileSync(join(dir, 'check.yml'), checkPlaybook());
  writeFileSync(join(dir, 'apply.yml'), applyPlaybook());
  mkdirSync(join(dir, 'host_vars'));
  for (const { name } of state.appliances) {
    const present = files.present.get(name) ?? [];
    writeFileSync(join(dir, 'host_vars', `${name}.yml`), `present_files: ${JSON.stringify(present)}\n`);
  }
  return {
    dir,
    inventory(size, route) {
      const path = join(dir, `hosts-${size}-${route.endpoint(state.appliances[0]!.name).port}.ini`);
      const lines = state.appliances.slice(0, size).map((a) => {
        const { address, port } = route.endpoint(a.name);
        return `${a.name} ansible_host=${address} ansible_port=${port}`;
      });
      const vars = `[all:vars]\nansible_ssh_common_args="-o UserKnownHostsFile=${route.knownHosts}"\n`;
      writeFileSync(path, `${lines.join('\n')}\n\n${vars}`);
      return path;
    },
    config: (variant) => join(dir, `ansible-${variant}.cfg`),
  };
}

/** Close the SSH masters Ansible left running, so the next run starts cold. */
export function closeMasters(project: AnsibleProject): void {
  const cp = join(project.dir, 'cp');
  for (const socket of readdirSync(cp)) {
    spawnSync('ssh', ['-F', '/dev/null', '-o', `ControlPath=${join(cp, socket)}`, '-O', 'exit', 'bench'], {
      stdio: 'ignore',
    });
  }
}

export interface Recap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
}

/** Totals of the PLAY RECAP lines. */
export function parseRecap(stdout: string): Recap {
  const total: Recap = { ok: 0, changed: 0, unreachable: 0, failed: 0 };
  for (const match of stdout.matchAll(/ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/g)) {
    total.ok += Number(match[1]);
    total.changed += Number(match[2]);
    total.unreachable += Number(match[3]);
    total.failed += Number(match[4]);
  }
  return total;
}

export function ansibleVersion(): string | undefined {
  const result = spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.split('\n')[0]?.trim() : undefined;
}

/** Debian's ansible-mitogen version, when installed. */
export function mitogenVersion(): string | undefined {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${Field} syntax
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status} ${Version}', 'ansible-mitogen'], {
    encoding: 'utf8',
  });
  const match = /install ok installed (\S+)/.exec(result.stdout);
  return match ? `ansible-mitogen ${match[1]}` : undefined;
}

/** Each failed or unreachable host's line (`fatal: [lab-3]: UNREACHABLE! => ...`). */
export const ansibleFailures = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((line) => /^fatal: \[/.test(line))
    .map((line) => line.slice(0, 400));
