/**
 * Load an inventory file: YAML with positions -> schema check -> merge defaults/groups/appliance
 * -> section checks -> `Inventory`. Every problem is collected and reported at once as
 * `FILE:LINE:COL: path: message`; nothing here contacts a host or reads a secret's value.
 *
 *   const inventory = await loadInventory('inventories/prod.yaml', { sections, io });
 *   await secrets.resolve(collectSecretUses(selectAppliances(inventory, limit)));
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { type PathContext, toApplianceConfig, toGroupConfigs } from './appliance.js';
import { parseDuration } from './duration.js';
import { inventoryErrorMap, type Path, type Problem, problemsFromIssues } from './issues.js';
import { applianceLayers, isPlainObject, type Merged, mergeLayers } from './merge.js';
import type { ApplianceConfig, Inventory, SecretRef, SourceLocation } from './model.js';
import { resolveInventoryPath } from './paths.js';
import { formatPath, formatProblem, InventoryError, orderProblems } from './problems.js';
import { checkReferences } from './references.js';
import {
  buildInventorySchema,
  buildSettingsSchema,
  DEFAULT_HISTORY_KEEP,
  type InventoryDocument,
} from './schema.js';
import { findSecretRefs, parseSecretRef, type SecretUse } from './secrets.js';
import type { InventorySection } from './types.js';
import { YamlSource } from './yaml-source.js';

export interface LoadOptions {
  /** the inventory sections recipes register (recipes/index.ts) */
  sections: readonly InventorySection[];
  io: LoadIo;
}

/** What loading needs from the process; the CLI passes its Io, tests pass buffers. */
export interface LoadIo {
  /** relative inventory paths resolve against it */
  cwd: string;
  /** HOME, for `~` in paths */
  env: NodeJS.ProcessEnv;
  /** warnings (a secret file readable by others, ...) */
  stderr: { write(text: string): void };
}

const PARSE_PARAMS = { error: inventoryErrorMap, reportInput: true } as const;

const CORE_SECRET_FIELDS: Path[] = [
  ['ssh', 'passphrase'],
  ['ssh', 'password'],
  ['sudo', 'password'],
];

export async function loadInventory(file: string, options: LoadOptions): Promise<Inventory> {
  const path = resolve(options.io.cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reasons: Record<string, string> = {
      ENOENT: 'the file does not exist',
      EISDIR: 'it is a directory, not a file',
      EACCES: 'the file cannot be read (permission denied)',
    };
    const reason = reasons[code ?? ''] ?? `the file cannot be read (${code ?? String(err)})`;
    throw new InputError(`inventory ${file}: ${reason}`);
  }
  return parseInventory(text, file, options);
}

/** `file` is the path as the user wrote it (relative to io.cwd); it names the file in messages. */
export function parseInventory(text: string, file: string, options: LoadOptions): Inventory {
  return new InventoryLoader(new YamlSource(file, text), resolve(options.io.cwd, file), options).load();
}

/** Every secret reference the appliances use, labelled `sudo.password of lab-1`. */
export function collectSecretUses(appliances: readonly ApplianceConfig[]): SecretUse[] {
  return appliances.flatMap((appliance) =>
    findSecretRefs({ ssh: appliance.ssh, sudo: appliance.sudo, ...appliance.sections }).map(
      ({ ref, path }) => ({
        ref,
        label: `${formatPath(path)} of ${appliance.name}`,
      }),
    ),
  );
}

class InventoryLoader {
  private readonly problems: { location: SourceLocation; line: string }[] = [];
  private readonly warnings = new Set<string>();
  private readonly paths: PathContext;
  private raw: Record<string, unknown> = {};
  /** the validated document; undefined when it has problems (then only more problems are collected) */
  private document: InventoryDocument | undefined;

  constructor(
    private readonly source: YamlSource,
    private readonly path: string,
    private readonly options: LoadOptions,
  ) {
    this.paths = { baseDir: dirname(path), home: options.io.env.HOME ?? homedir() };
  }

  load(): Inventory {
    const syntax = this.source.syntaxProblems();
    if (syntax.length > 0) {
      throw new InventoryError(syntax.map((p) => formatProblem(p.location, [], `YAML: ${p.message}`)));
    }
    this.raw = this.readRaw();
    const schema = buildInventorySchema(this.options.sections);
    const parsed = schema.safeParse(this.raw, PARSE_PARAMS);
    if (parsed.success) this.document = parsed.data;
    else for (const problem of problemsFromIssues(parsed.error.issues, schema)) this.report(problem);
    this.checkInlineCoreSecrets();
    for (const problem of checkReferences(this.raw)) this.report(problem);

    const names = Object.keys(isPlainObject(this.raw.appliances) ? this.raw.appliances : {});
    const appliances = names.flatMap((name) => this.buildAppliance(name));
    if (this.problems.length > 0 || !this.document) throw new InventoryError(orderProblems(this.problems));
    for (const warning of this.warnings) this.options.io.stderr.write(`rpctl: warning: ${warning}\n`);
    return {
      file: this.path,
      fleet: this.document.fleet ?? this.path,
      historyKeepMs: parseDuration(this.document.history?.keep ?? DEFAULT_HISTORY_KEEP)!,
      appliances,
      groups: toGroupConfigs(this.document, (name) => this.source.locate(['groups', name], true)),
      allowInlineSecrets: this.allowInlineSecrets,
    };
  }

  private get allowInlineSecrets(): boolean {
    return this.raw.allowInlineSecrets === true;
  }

  private readRaw(): Record<string, unknown> {
    const at = (message: string) => new InventoryError([formatProblem(this.source.at(0), [], message)]);
    let raw: unknown;
    try {
      raw = this.source.doc.contents === null ? null : this.source.doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      throw at(`YAML: ${(err as Error).message}`);
    }
    if (raw === null || raw === undefined) throw at('the inventory is empty: it needs appliances:');
    if (!isPlainObject(raw)) throw at('expected a mapping at the top level (defaults, groups, appliances)');
    return raw;
  }

  private report(problem: Problem, location = this.source.locate(problem.path, problem.atKey)): void {
    this.problems.push({ location, line: formatProblem(location, problem.path, problem.message) });
  }

  /**
   * A problem in a merged value: a leaf or list has one origin and is reported there; a missing
   * value or a mapping (assembled from several layers) is reported at the appliance.
   */
  private reportMerged(appliance: string, merged: Merged, problem: Problem): void {
    const value = valueAt(merged.value, problem.path);
    if (problem.atKey || (value !== undefined && !isPlainObject(value))) {
      this.report({ ...problem, path: merged.originOf(problem.path) });
    } else {
      const at = this.source.locate(['appliances', appliance], true);
      this.report({ ...problem, path: ['appliances', appliance, ...problem.path] }, at);
    }
  }

  /** Make `file:` paths absolute, note where prompts/inline secrets are written, apply the inline policy. */
  private checkSecretRefs(value: unknown, originOf: (path: Path) => Path): void {
    for (const { ref, path } of findSecretRefs(value)) {
      const origin = originOf(path);
      if (ref.kind === 'file') ref.path = resolveInventoryPath(ref.path, this.paths.baseDir, this.paths.home);
      if (ref.kind === 'prompt' || ref.kind === 'inline') ref.origin = formatPath(origin);
      if (ref.kind === 'inline') this.flagInlineSecret(origin);
      if (ref.kind === 'exec') this.placeExec(ref, origin);
    }
  }

  /** Failures name the inventory line; a relative command path is relative to the inventory. */
  private placeExec(ref: Extract<SecretRef, { kind: 'exec' }>, origin: Path): void {
    const location = this.source.locate(origin);
    ref.origin = formatPath(origin);
    ref.at = `${location.file}:${location.line}`;
    const command = ref.argv[0]!;
    if (command.includes('/') || command.startsWith('~')) {
      ref.argv[0] = resolveInventoryPath(command, this.paths.baseDir, this.paths.home);
    }
  }

  // Checked on the raw document so an inline secret is reported even when other fields are wrong.
  private checkInlineCoreSecrets(): void {
    const { groups, appliances } = this.raw;
    const places: Path[] = [
      ['defaults'],
      ...Object.keys(isPlainObject(groups) ? groups : {}).map((name) => ['groups', name, 'vars']),
      ...Object.keys(isPlainObject(appliances) ? appliances : {}).map((name) => ['appliances', name]),
    ];
    for (const place of places) {
      for (const field of CORE_SECRET_FIELDS) {
        const text = valueAt(this.raw, [...place, ...field]);
        if (typeof text !== 'string') continue;
        const parsed = parseSecretRef(text);
        if ('ref' in parsed && parsed.ref.kind === 'inline') this.flagInlineSecret([...place, ...field]);
      }
    }
  }

  private flagInlineSecret(origin: Path): void {
    if (this.allowInlineSecrets) {
      const where = formatProblem(this.source.locate(origin), origin, 'inline plaintext secret');
      this.warnings.add(`${where} (allowed by allowInlineSecrets: true; prefer env:, file: or prompt)`);
    } else {
      this.report({
        path: origin,
        message:
          'inline plaintext secrets are refused: write env:NAME, file:PATH or prompt (or set allowInlineSecrets: true)',
      });
    }
  }

  /** The appliance's merged, validated settings; none when they have problems (which are reported). */
  private buildAppliance(name: string): ApplianceConfig[] {
    const merged = mergeLayers(applianceLayers(this.raw, name));
    // Core settings were checked in place (reported above); merging valid values gives a valid whole.
    const core = buildSettingsSchema(this.options.sections).safeParse(merged.value, PARSE_PARAMS);
    if (!core.success && this.document) {
      throw new Error(`merged settings of ${name} are invalid: ${core.error.message}`);
    }
    const sections: Record<string, unknown> = {};
    for (const section of this.options.sections) {
      if (merged.value[section.key] === undefined) continue;
      const result = section.schema.safeParse(merged.value[section.key], PARSE_PARAMS);
      if (result.success) {
        sections[section.key] = result.data;
      } else {
        for (const problem of problemsFromIssues(result.error.issues, section.schema, [section.key])) {
          this.reportMerged(name, merged, problem);
        }
      }
    }
    if (!core.success || !this.document) return [];
    this.checkSecretRefs({ ...core.data, ...sections }, (path) => merged.originOf(path));
    const source = this.source.locate(['appliances', name], true);
    const declared = this.document.appliances[name];
    return [toApplianceConfig(name, declared, core.data, sections, source, this.paths)];
  }
}

function valueAt(value: unknown, path: Path): unknown {
  let current = value;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isPlainObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}
