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
 * from a cold connection as rpctl does.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { concerns } from '../recipes/index.js';
import { PEXAPP } from '../recipes/upstreams/recipe.js';
import { mergeFactSpecs } from '../src/engine/facts.js';
import { clientFiles, type LabConfig, type LabState } from '../test/lab/lab.js';
import { applianceFile } from './fleet.js';

export interface AnsibleProject {
  dir: string;
  /** writes the inventory of the first `size` appliances; returns its path */
  inventory(size: number): string;
  /** saves each appliance's pexapp as the change's target content (call after rpctl added the node) */
  snapshotChanged(names: readonly string[]): void;
}

const yamlString = (text: string) => JSON.stringify(text);

/** Files rpctl's facts read, and the commands they run, in one list (the recipes' own specs). */
function factReads() {
  const merged = mergeFactSpecs(concerns.flatMap((concern) => concern.recipes).map((recipe) => recipe.facts));
  return { files: merged.files.map((f) => f.path), commands: merged.commands };
}

function checkPlaybook(): string {
  const { files, commands } = factReads();
  const tasks = [
    ...files.flatMap((path) => [
      [
        `    - name: ${yamlString(`${path} as desired`)}`,
        '      ansible.builtin.copy:',
        `        src: ${yamlString(`files/{{ inventory_hostname }}${path}`)}`,
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
        src: "files/{{ inventory_hostname }}/{{ variant }}"
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

export function ansibleProject(cfg: LabConfig, state: LabState): AnsibleProject {
  const dir = join(cfg.labDir, 'ansible');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'cp'), { recursive: true, mode: 0o700 });
  const client = clientFiles(cfg);
  const names = state.appliances.map((a) => a.name);
  writeFileSync(
    join(dir, 'ansible.cfg'),
    `[defaults]
gathering = explicit
host_key_checking = True
retry_files_enabled = False
interpreter_python = /usr/bin/python3
timeout = 30

[ssh_connection]
pipelining = True
control_path_dir = ${join(dir, 'cp')}
ssh_args = -F /dev/null -o ControlMaster=auto -o ControlPersist=60s -o IdentitiesOnly=yes -o UserKnownHostsFile=${client.knownHosts}
`,
  );
  mkdirSync(join(dir, 'group_vars'), { mode: 0o700 });
  writeFileSync(
    join(dir, 'group_vars', 'all.yml'),
    `ansible_user: pexip\nansible_ssh_private_key_file: ${yamlString(client.identityFile)}\nansible_become_password: ${yamlString(client.sudoPassword())}\n`,
    { mode: 0o600 },
  );
  writeFileSync(join(dir, 'check.yml'), checkPlaybook());
  writeFileSync(join(dir, 'apply.yml'), applyPlaybook());
  const { files } = factReads();
  mkdirSync(join(dir, 'host_vars'));
  for (const name of names) {
    const present: string[] = [];
    for (const path of files) {
      const content = applianceFile(cfg, name, path);
      if (content === undefined) continue;
      present.push(path);
      const local = join(dir, 'files', name, path);
      mkdirSync(join(local, '..'), { recursive: true });
      writeFileSync(local, content, { mode: 0o600 });
    }
    writeFileSync(join(dir, 'host_vars', `${name}.yml`), `present_files: ${JSON.stringify(present)}\n`);
    writeFileSync(join(dir, 'files', name, 'pexapp'), applianceFile(cfg, name, PEXAPP) ?? '');
  }
  return {
    dir,
    inventory(size) {
      const path = join(dir, `hosts-${size}.ini`);
      const lines = state.appliances.slice(0, size).map((a) => `${a.name} ansible_host=${a.address}`);
      writeFileSync(path, `${lines.join('\n')}\n`);
      return path;
    },
    snapshotChanged(changed) {
      for (const name of changed) {
        writeFileSync(join(dir, 'files', name, 'pexapp-changed'), applianceFile(cfg, name, PEXAPP) ?? '');
      }
    },
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
