/**
 * Progress on stderr while a run goes: listr2 on a terminal (a task per host, subtasks per recipe
 * when applying), plain lines otherwise (CI, pipes, NO_COLOR terminals still get listr2 without
 * colour). stdout stays free for the report, so `--format json` output is clean.
 *
 *   const progress = createProgress(io, { hosts, tty });
 *   runFleet({ ..., events: progress.events, confirm: async (h) => { await progress.pause(); ... } });
 *   await progress.stop();
 */
import type { ListrTask } from 'listr2';
import type { FleetEvents, HostOutcome, HostPhase } from '../engine/run.js';
import { withoutHostName } from '../errors.js';

export interface Progress {
  events: FleetEvents;
  /** finish the current stage's display (before printing the plan and asking) */
  pause(): Promise<void>;
  /** start the apply stage for these hosts */
  resume(hosts: readonly HostOutcome[]): void;
  stop(): Promise<void>;
}

const PHASE_TEXT: Record<HostPhase, string> = {
  waiting: 'waiting',
  connecting: 'connecting',
  facts: 'reading facts',
  planned: 'planned',
  applying: 'applying',
  verifying: 'verifying',
  done: 'done',
};

function outcomeText(o: HostOutcome): string {
  const n = o.changes.length + o.pending.length;
  switch (o.status) {
    case 'in-sync':
      return 'in sync';
    case 'changed':
      return `changed (${o.changes.length})${o.pending.length ? `, ${o.pending.length} deferred` : ''}`;
    case 'drift':
      return `${n} change${n === 1 ? '' : 's'} pending`;
    default:
      return o.error ? withoutHostName(o.name, o.error.message) : o.status;
  }
}

/** listr2 is loaded only for a terminal: scheduled runs and CI never pay for it. */
export async function createProgress(
  io: ProgressIo,
  options: { hosts: readonly string[]; tty: boolean; quiet?: boolean },
): Promise<Progress> {
  if (options.quiet) return silentProgress();
  return options.tty ? listrProgress(options.hosts, await import('listr2')) : lineProgress(io);
}

function silentProgress(): Progress {
  return { events: {}, pause: async () => {}, resume: () => {}, stop: async () => {} };
}

/** Where progress lines go (stderr: stdout carries only the report). */
export interface ProgressIo {
  stderr: { write(text: string): void };
}

function lineProgress(io: ProgressIo): Progress {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return {
    events: {
      phase(host, phase) {
        if (phase === 'applying') io.stderr.write(`${host}: applying\n`);
      },
      done(outcome) {
        io.stderr.write(`${outcome.name}: ${outcomeText(outcome)} (${seconds(outcome.durationMs)})\n`);
      },
    },
    pause: async () => {},
    resume: () => {},
    stop: async () => {},
  };
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function listrProgress(
  hosts: readonly string[],
  { Listr, ProcessOutput }: typeof import('listr2'),
): Progress {
  type Entry = { done: Deferred; title?: (t: string) => void; outcome?: HostOutcome };
  let entries = new Map<string, Entry>();
  let running: Promise<unknown> = Promise.resolve();
  const output = new ProcessOutput(process.stderr, process.stderr);

  const start = (names: readonly string[], subtasks: (name: string) => string[]) => {
    entries = new Map(names.map((n) => [n, { done: deferred() }]));
    const tasks: ListrTask[] = names.map((name) => ({
      title: `${name}: waiting`,
      task: async (_ctx, task) => {
        const entry = entries.get(name)!;
        entry.title = (t) => {
          task.title = `${name}: ${t}`;
        };
        const subs = subtasks(name);
        if (subs.length === 0) return entry.done.promise;
        return task.newListr(
          subs.map((title) => ({ title, task: () => entry.done.promise })),
          { concurrent: true, exitOnError: false },
        );
      },
    }));
    const list = new Listr(tasks, {
      concurrent: true,
      exitOnError: false,
      registerSignalListeners: false,
      rendererOptions: { collapseSubtasks: false, processOutput: output },
    } as never);
    running = list.run().catch(() => undefined);
  };
  start(hosts, () => []);

  return {
    events: {
      phase(host, phase, detail) {
        const entry = entries.get(host);
        entry?.title?.(phase === 'done' ? (detail ?? 'done') : PHASE_TEXT[phase]);
        if (phase === 'planned') entry?.done.resolve();
      },
      done(outcome) {
        const entry = entries.get(outcome.name);
        if (!entry) return;
        entry.outcome = outcome;
        entry.title?.(outcomeText(outcome));
        if (outcome.status === 'failed' || outcome.status === 'unreachable')
          entry.done.reject(new Error(outcomeText(outcome)));
        else entry.done.resolve();
      },
    },
    async pause() {
      for (const entry of entries.values()) entry.done.resolve();
      await running;
    },
    resume(outcomes) {
      const byName = new Map(outcomes.map((o) => [o.name, o]));
      start(
        outcomes.map((o) => o.name),
        (name) => (byName.get(name)?.changes ?? []).map((c) => `${c.recipe}: ${c.summary}`),
      );
    },
    async stop() {
      for (const entry of entries.values()) entry.done.resolve();
      await running;
    },
  };
}
