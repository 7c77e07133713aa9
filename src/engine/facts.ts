/**
 * Facts: the read-only questions recipes ask a host, answered in ONE exec round trip.
 *
 *   const spec = mergeFactSpecs(recipes.map((r) => r.facts));
 *   const result = await session.exec(factsScript(spec), { sudo: true });
 *   const facts = parseFacts(spec, result.stdout);          // a HostFacts
 *   facts.text('/etc/turnserver.conf')
 *
 * The script prints one `@file`/`@cmd` record per fact, contents base64-encoded. Files declared
 * `read: 'certificates'` are filtered on the host so private keys never leave it.
 */
import { createHash } from 'node:crypto';
import { HostError } from '../errors.js';
import { joinCommands, type ShellCommand, script, sh } from '../transport/shell.js';
import type { CommandFact, FactSpec, FileFact, FileRead, FileWrite, HostFacts } from './contract.js';

export interface MergedFactSpec {
  files: { path: string; read: FileRead }[];
  commands: { id: string; command: ShellCommand; afterChange: boolean }[];
}

/** Union of fact specs; a path read both ways is read whole only if some recipe needs it whole. */
export function mergeFactSpecs(specs: readonly FactSpec[]): MergedFactSpec {
  const files = new Map<string, FileRead>();
  const commands = new Map<string, { command: ShellCommand; afterChange: boolean }>();
  for (const spec of specs) {
    for (const file of spec.files ?? []) {
      const read = file.read ?? 'content';
      const known = files.get(file.path);
      files.set(file.path, known === 'content' || read === 'content' ? 'content' : 'certificates');
    }
    for (const command of spec.commands ?? []) {
      const known = commands.get(command.id);
      if (known && known.command.text !== command.command.text) {
        throw new Error(`internal: two recipes declare command fact ${command.id} differently`);
      }
      // read before changes too if any recipe needs it there
      const afterChange = (command.afterChange ?? false) && (known?.afterChange ?? true);
      commands.set(command.id, { command: command.command, afterChange });
    }
  }
  return {
    files: [...files].map(([path, read]) => ({ path, read })),
    commands: [...commands].map(([id, { command, afterChange }]) => ({ id, command, afterChange })),
  };
}

/** What the facts script prints when the appliance's /tmp has no room for the commands' output. */
const NO_SPACE = '@facts no space left in /tmp';

/** The one-line problem a facts script reported instead of facts, if any. */
export function factsProblem(host: string, output: Buffer | string): HostError | undefined {
  if (!output.toString('utf8').split('\n').includes(NO_SPACE)) return undefined;
  return new HostError('facts', `${host}: reading facts failed: no space left in /tmp on the appliance`);
}

// Shell functions of the facts script. `s` stats every file in one process (a process per file
// was a third of the facts script's CPU); `m` finds a file's line there with builtins only, or
// stats a file that appeared since. `f` prints a file record, `c` a command record once that
// command has finished. No traps here: the facts body also runs at the end of the apply script,
// which owns the EXIT trap.
const FACT_FUNCTIONS =
  script(`rpctl_facts=$(mktemp -d) && head -c 65536 /dev/zero 2>/dev/null > "$rpctl_facts/space" || { echo '${NO_SPACE}'; rm -rf "$rpctl_facts"; exit 28; }
rm -f "$rpctl_facts/space"
s() {
  stat -Lc '%a %U %G %s %n' -- "$@" > "$rpctl_facts/stat" 2>/dev/null
}
m() {
  rpctl_meta=
  while read -r a u g z n; do
    if [ "$n" = "$1" ]; then rpctl_meta="$a $u $g $z"; break; fi
  done < "$rpctl_facts/stat"
  [ -n "$rpctl_meta" ] || rpctl_meta=$(stat -Lc '%a %U %G %s' "$1")
}
f() {
  if [ ! -f "$2" ]; then
    printf '@file %s absent\\n' "$1"
  elif [ "$3" = certificates ]; then
    m "$2"
    printf '@file %s present %s %s\\n' "$1" "$rpctl_meta" "$(sha256sum < "$2" | cut -c1-64)"
    sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$2" | base64 -w0
    echo
  else
    m "$2"
    printf '@file %s present %s -\\n' "$1" "$rpctl_meta"
    base64 -w0 < "$2"
    echo
  fi
}
c() {
  wait "$2"
  printf '@cmd %s %s\\n' "$1" "$?"
  base64 -w0 < "$rpctl_facts/$1"
  echo
}`);

/**
 * The body that reads every fact of `spec` (without the sudo wrapper; the transport adds it).
 * Fact commands are read-only, so they run at once, in the background, while the files are read:
 * the slowest sets the pace instead of the sum. Records come out in spec order whatever order the
 * commands finish in. `afterChange` facts are read only when `afterChange` is set (the read that
 * ends an apply, for verification); elsewhere `facts.command(id)` is undefined for them.
 */
export function factsBody(spec: MergedFactSpec, options: { afterChange?: boolean } = {}): ShellCommand {
  const lines: ShellCommand[] = [FACT_FUNCTIONS];
  const read = (command: MergedFactSpec['commands'][number]) => options.afterChange || !command.afterChange;
  spec.commands.forEach((command, i) => {
    if (!read(command)) return;
    lines.push(
      sh`( ${command.command} ) 8>&- > "$rpctl_facts/${i}" 2>&1 < /dev/null &`,
      script(`rpctl_pid${i}=$!`),
    );
  });
  if (spec.files.length > 0) lines.push(sh`s ${spec.files.map((file) => file.path)}`);
  spec.files.forEach((file, i) => {
    lines.push(sh`f ${i} ${file.path} ${file.read}`);
  });
  spec.commands.forEach((command, i) => {
    if (read(command)) lines.push(script(`c ${i} "$rpctl_pid${i}"`));
  });
  lines.push(script(`echo '@facts end'; rm -rf "$rpctl_facts"`));
  return joinCommands(lines);
}

export class GatheredFacts implements HostFacts {
  constructor(
    readonly files: ReadonlyMap<string, FileFact>,
    readonly commands: ReadonlyMap<string, CommandFact>,
  ) {}

  file(path: string): FileFact {
    return this.files.get(path) ?? { path, exists: false };
  }

  text(path: string): string | undefined {
    const fact = this.file(path);
    return fact.exists ? fact.content.toString('utf8') : undefined;
  }

  command(id: string): CommandFact | undefined {
    return this.commands.get(id);
  }

  /** These facts with those read again since (`newer`) in their place. */
  updatedWith(newer: GatheredFacts): GatheredFacts {
    return new GatheredFacts(
      new Map([...this.files, ...newer.files]),
      new Map([...this.commands, ...newer.commands]),
    );
  }

  /** The facts as they will be once `writes` are installed (recipes plan over earlier recipes' writes). */
  withWrites(writes: readonly FileWrite[]): GatheredFacts {
    if (writes.length === 0) return this;
    const files = new Map(this.files);
    for (const write of writes) {
      const content = Buffer.isBuffer(write.content) ? write.content : Buffer.from(write.content, 'utf8');
      const before = this.file(write.path);
      files.set(write.path, {
        path: write.path,
        exists: true,
        content,
        sha256: sha256(content),
        mode: write.mode ?? (before.exists ? before.mode : 0o644),
        owner: write.owner ?? (before.exists ? before.owner : 'root'),
        group: write.group ?? (before.exists ? before.group : 'root'),
        size: content.length,
      });
    }
    return new GatheredFacts(files, this.commands);
  }
}

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Parse the records the facts script printed. Missing records mean the script did not finish. */
export function parseFacts(host: string, spec: MergedFactSpec, output: Buffer | string): GatheredFacts {
  const lines = output.toString('utf8').split('\n');
  const files = new Map<string, FileFact>();
  const commands = new Map<string, CommandFact>();
  let ended = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '@facts end') {
      ended = true;
      break;
    }
    const file = /^@file (\d+) (present (\d+) (\S+) (\S+) (\d+) ([0-9a-f]{64}|-)|absent)$/.exec(line);
    if (file) {
      const entry = spec.files[Number(file[1])];
      if (!entry) continue;
      if (file[2] === 'absent') {
        files.set(entry.path, { path: entry.path, exists: false });
        continue;
      }
      const content = Buffer.from(lines[++i] ?? '', 'base64');
      files.set(entry.path, {
        path: entry.path,
        exists: true,
        content,
        mode: Number.parseInt(file[3]!, 8),
        owner: file[4]!,
        group: file[5]!,
        size: Number(file[6]),
        // a file read whole is hashed here, from the very bytes read (one process less per file)
        sha256: file[7] === '-' ? sha256(content) : file[7]!,
      });
      continue;
    }
    const command = /^@cmd (\d+) (\d+)$/.exec(line);
    if (command) {
      const entry = spec.commands[Number(command[1])];
      const text = Buffer.from(lines[++i] ?? '', 'base64').toString('utf8');
      if (entry) commands.set(entry.id, { id: entry.id, code: Number(command[2]), output: text });
    }
  }
  if (!ended) {
    const problem = factsProblem(host, output);
    if (problem) throw problem;
    throw new HostError('facts', `${host}: reading facts did not finish (the facts script was cut short)`);
  }
  return new GatheredFacts(files, commands);
}
