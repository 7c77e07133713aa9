/**
 * The one helper every one-off command goes through: it turns a spec (src/engine/one-off.ts) into a
 * commander command and owns the policy they share.
 *
 * - A command that changes appliances requires --limit: exit 3 before the inventory is read.
 * - --save writes each value where the inventory declares it (defaults, a group, the appliance; an
 *   undeclared value on the appliance) and says where on stderr. A shared level that also reaches
 *   appliances outside --limit is refused (exit 3) before any secret is read or host contacted.
 * - Exit codes 0-3 and examples in every --help; a declined confirmation exits 2.
 * - --format and --output everywhere; --allow-disruptive, --confirm-timeout, --save, --yes only
 *   where they apply.
 */

import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { parse } from 'yaml';
import type {
  AnyOneOffCommand,
  ChangeCommand,
  CustomCommand,
  CustomRunner,
  ExitCodeText,
  OneOffGiven,
  OneOffGroup,
  OneOffInputContext,
  ReportCommand,
  ReportContext,
} from '../engine/one-off.js';
import type { FleetResult } from '../engine/run.js';
import { tlsHandshake } from '../engine/tls.js';
import { InputError } from '../errors.js';
import type { ApplianceConfig, Inventory } from '../inventory/model.js';
import { describeLevel, type LevelEdit, planLevelEdits } from '../inventory/provenance.js';
import { updateInventoryFile } from '../inventory/save.js';
import { parseSecretRef, valueSecretRef } from '../inventory/secrets.js';
import { withSection } from '../inventory/section.js';
import { addInventoryOptions, type InventoryOptions, inventoryFile, type Selection } from './common.js';
import { runFleetCommand } from './fleet.js';
import type { CommandContext, CommandModule } from './program.js';
import { addApplyFlags, addConnectionFlags, addOutputFlags, type RunFlags } from './run-options.js';

export const ONE_OFF_FORMATS = ['text', 'json'] as const;

type Flags = RunFlags & InventoryOptions & Record<string, unknown>;
type AnySpec = AnyOneOffCommand;
/** What the CLI runs for a custom spec (install), by the runner's name: the spec brings what it `uses`. */
export type CustomRunnerFn<R extends CustomRunner = CustomRunner> = (
  ctx: CommandContext,
  // biome-ignore lint/suspicious/noExplicitAny: the runner knows its spec's input
  spec: CustomCommand<any, R>,
  // biome-ignore lint/suspicious/noExplicitAny: (the same)
  input: any,
  flags: Flags,
) => Promise<void>;
export type CustomRunnerFns = { [R in CustomRunner]?: CustomRunnerFn<R> };

const changes = (spec: AnySpec) => spec.kind === 'change' || (spec.kind === 'custom' && spec.changes);

/** The groups of one-off commands, each with the specs under it: a module of the program. */
export function oneOffModule(
  groups: readonly OneOffGroup[],
  specs: readonly AnySpec[],
  runners: CustomRunnerFns = {},
): CommandModule {
  return {
    register(program, ctx) {
      const parents = new Map(
        groups.map((g) => [g.name, program.command(g.name).description(g.description)]),
      );
      for (const spec of specs) {
        const parent = spec.path.length > 1 ? parents.get(spec.path[0]!) : program;
        if (!parent) throw new Error(`one-off ${spec.path.join(' ')}: no command group ${spec.path[0]}`);
        addOneOff(parent, ctx, spec, runners);
      }
    },
  };
}

export function addOneOff(
  parent: Command,
  ctx: CommandContext,
  spec: AnySpec,
  runners: CustomRunnerFns = {},
): Command {
  const command = parent.command(spec.path.at(-1)!).description(spec.summary);
  for (const arg of spec.arguments ?? []) {
    const name = `${arg.name}${arg.variadic ? '...' : ''}`;
    command.argument(arg.required ? `<${name}>` : `[${name}]`, arg.description);
  }
  addFlags(command, spec);
  command.addHelpText('after', helpText(spec));
  command.action(async (...params: unknown[]) => {
    const flags = (params.at(-1) as Command).opts<Flags>();
    const args = params.slice(0, spec.arguments?.length ?? 0) as OneOffGiven['args'];
    await runOneOff(ctx, spec, { args, options: flags, save: Boolean(flags.save) }, runners);
  });
  return command;
}

/** The spec's own flags between the common ones, and only the apply flags that apply to it. */
function addFlags(command: Command, spec: AnySpec): void {
  addInventoryOptions(command);
  for (const option of spec.options ?? []) {
    const added = new Option(option.flags, option.description);
    if (option.repeatable) added.argParser((value: string, previous: string[] = []) => [...previous, value]);
    command.addOption(added);
  }
  addConnectionFlags(command, spec.kind === 'custom' ? spec.defaultConcurrency : undefined);
  addOutputFlags(command, ONE_OFF_FORMATS);
  if (spec.kind === 'change') {
    addApplyFlags(command, { disruptive: spec.disruptive, commitConfirmed: spec.commitConfirmed });
    if (spec.save)
      command.option('--save', `write ${spec.save.writes} into the inventory where it is declared`);
  } else if (spec.kind === 'custom' && spec.changes) {
    command.option('-y, --yes', 'do not ask for confirmation');
  }
}

/** --limit first (before the inventory, a prompt or a secret), then the spec's input, then its run. */
async function runOneOff(
  ctx: CommandContext,
  spec: AnySpec,
  given: OneOffGiven,
  runners: CustomRunnerFns,
): Promise<void> {
  const flags = given.options as Flags;
  if (changes(spec) && !flags.limit) {
    throw new InputError(
      `${spec.path.join(' ')}: --limit is required: name the appliances to change (names, groups, globs; '*' for all)`,
    );
  }
  const input = await spec.input(given, inputContext(ctx, flags));
  if (spec.kind === 'change') return runChange(ctx, spec, input, flags);
  if (spec.kind === 'report') return runReport(ctx, spec, input, flags);
  const runner = runners[spec.runner];
  if (!runner) throw new Error(`rpctl ${spec.path.join(' ')}: no runner ${spec.runner} in this build`);
  return runner(ctx, spec, input, flags);
}

const DEFAULT_EXIT_CODES: Record<'change' | 'report', Required<ExitCodeText>> = {
  change: {
    0: 'done: every selected appliance is in the new state',
    1: 'an appliance failed (its change rolled back) or was unreachable',
    2: 'not applied: the confirmation was declined',
    3: 'invalid input or no --limit: nothing was contacted',
  },
  report: {
    0: 'read',
    1: 'an appliance failed or was unreachable',
    2: 'not used by this command',
    3: 'invalid input: nothing was contacted',
  },
};

function helpText(spec: AnySpec): string {
  const kind = spec.kind === 'report' || (spec.kind === 'custom' && !spec.changes) ? 'report' : 'change';
  const codes = { ...DEFAULT_EXIT_CODES[kind], ...spec.exitCodes };
  if (spec.kind === 'change' && spec.disruptive && !spec.exitCodes?.[2])
    codes[2] =
      'not applied: disruptive changes deferred (no --allow-disruptive), or the confirmation was declined';
  if (spec.kind === 'change' && spec.save && !spec.exitCodes?.[3])
    codes[3] = 'invalid input, no --limit, or --save refused: nothing was contacted';
  const limit = changes(spec) ? "\n--limit is required: name the appliances to change ('*' for all).\n" : '';
  const save =
    spec.kind === 'change' && spec.save
      ? `--save writes ${spec.save.writes} at the level the inventory declares it (defaults, a group\n` +
        'or the appliance; an undeclared value on the appliance) and says where. It refuses (exit 3)\n' +
        'when that level also gives the value to appliances outside --limit.\n'
      : '';
  return [
    spec.help ? `\n${spec.help.trim()}\n` : '',
    limit,
    save,
    '\nExit codes:\n',
    ...([0, 1, 2, 3] as const).map((code) => `  ${code}  ${codes[code]}\n`),
    '\nExamples:\n',
    ...spec.examples.map((line) => `  ${line}\n`),
  ].join('');
}

function inputContext(ctx: CommandContext, flags: Flags): OneOffInputContext {
  const { io } = ctx;
  return {
    cwd: io.cwd,
    interactive: io.stdinIsTTY,
    prompt: (question, options) => io.prompt(question, options),
    secretRef(text, what) {
      const parsed = parseSecretRef(text);
      if ('problem' in parsed) throw new InputError(`${what}: ${parsed.problem}`);
      return parsed.ref;
    },
    typedSecret: (value, label) => valueSecretRef(value, label),
    file(flag, value) {
      const path = resolve(io.cwd, value);
      let isFile = false;
      try {
        isFile = statSync(path).isFile();
      } catch {
        throw new InputError(`${flag} ${value}: the file does not exist or cannot be read`);
      }
      if (!isFile) throw new InputError(`${flag} ${value}: not a regular file`);
      return path;
    },
    savedPath(absolute) {
      const dir = dirname(resolve(io.cwd, inventoryFile(ctx, flags)));
      const rel = relative(dir, absolute);
      return rel.startsWith('..') || isAbsolute(rel) ? absolute : rel;
    },
  };
}

/** The appliance with its section replaced by a one-off's value, validated as the loader would. */
function withOverride(ctx: CommandContext, appliance: ApplianceConfig, key: string, value: unknown) {
  const section = ctx.registry.sections.find((s) => s.key === key);
  if (!section) throw new Error(`one-off: no inventory section ${key}`);
  return withSection(appliance, section, value);
}

async function runChange<Input>(
  ctx: CommandContext,
  spec: ChangeCommand<Input>,
  input: Input,
  flags: Flags,
): Promise<void> {
  const { section, override, save } = spec;
  const replace = (appliance: ApplianceConfig, key: string, value: unknown) =>
    spec.validateOverride
      ? withOverride(ctx, appliance, key, value)
      : { ...appliance, sections: { ...appliance.sections, [key]: value } };
  const current = (a: ApplianceConfig) => (section ? a.sections[section] : undefined);
  let edits: LevelEdit[] = [];
  const result = await runFleetCommand(ctx, {
    mode: 'apply',
    flags,
    formats: ONE_OFF_FORMATS,
    recipes: spec.recipes(input),
    checkSelection:
      save && flags.save
        ? async (inventory, selected) => {
            const values = new Map(selected.map((a) => [a.name, save.values(input, current(a), a.name)]));
            edits = planLevelEdits(await rawDocument(inventory), values);
          }
        : undefined,
    override:
      section && override
        ? (appliance) => replace(appliance, section, override(input, current(appliance), appliance.name))
        : undefined,
    after: (run) => spec.after?.(input, run),
  });
  if (flags.save && edits.length > 0) await writeSaved(ctx, flags, result, edits);
}

async function rawDocument(inventory: Inventory): Promise<Record<string, unknown>> {
  return parse(await readFile(inventory.file, 'utf8'), { maxAliasCount: 1000 }) as Record<string, unknown>;
}

/** Write the edits whose appliances all reached the new state; say where, and what was not saved. */
async function writeSaved(ctx: CommandContext, flags: Flags, result: FleetResult, edits: LevelEdit[]) {
  if (!result.confirmed) return;
  const file = resolve(ctx.io.cwd, inventoryFile(ctx, flags));
  const reached = new Set(
    result.hosts.filter((h) => h.status === 'changed' || h.status === 'in-sync').map((h) => h.name),
  );
  const done = edits.filter((e) => e.appliances.every((a) => reached.has(a)));
  if (done.length > 0) {
    await updateInventoryFile(
      file,
      done.map((e) => ({ op: 'set' as const, path: e.docPath, value: e.value })),
    );
  }
  for (const [where, group] of byLevel(done)) {
    ctx.io.stderr.write(`saved ${group.map((e) => e.path.join('.')).join(', ')} ${where} in ${file}\n`);
  }
  for (const [where, group] of byLevel(edits.filter((e) => !done.includes(e)))) {
    const missed = [...new Set(group.flatMap((e) => e.appliances))].filter((a) => !reached.has(a));
    ctx.io.stderr.write(`not saved ${where}: ${missed.join(', ')} did not reach the new state\n`);
  }
}

/** Edits grouped by the level they write: "on appliance rp1", "in group pair (for rp3, rp4)". */
function byLevel(edits: readonly LevelEdit[]): Map<string, LevelEdit[]> {
  const groups = new Map<string, LevelEdit[]>();
  for (const edit of edits) {
    const shared = edit.level && edit.level.kind !== 'appliance';
    const where = shared
      ? `in ${describeLevel(edit.level!)} (for ${edit.appliances.join(', ')})`
      : `on appliance ${edit.appliances[0]}`;
    groups.set(where, [...(groups.get(where) ?? []), edit]);
  }
  return groups;
}

async function runReport<Input>(
  ctx: CommandContext,
  spec: ReportCommand<Input>,
  input: Input,
  flags: Flags,
): Promise<void> {
  await runFleetCommand(ctx, {
    mode: spec.mode,
    flags,
    formats: ONE_OFF_FORMATS,
    recipes: spec.recipes(input),
    render: (format, result, selection) =>
      spec.render(format as 'text' | 'json', result, reportContext(ctx, selection)),
  });
}

function reportContext(ctx: CommandContext, selection: Selection): ReportContext {
  return {
    appliance(name) {
      const found = selection.appliances.find((a) => a.name === name);
      if (!found) throw new Error(`no appliance ${name} in the selection`);
      return found;
    },
    desired: (recipe, appliance) =>
      recipe.desired({
        appliance,
        secret: (ref) => selection.secrets.get(ref),
        addSecret: (value) => selection.redactor.add(value),
        now: new Date(),
      }),
    tlsChain: async (host, port, servername) => (await tlsHandshake(host, port, servername, 5000)).chain,
    exitWith: (code) => ctx.exitWith(code),
  };
}
