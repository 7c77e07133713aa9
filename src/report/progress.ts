/**
 * Progress on stderr while a run goes; stdout stays free for the report, so `--format json` output
 * is the same with and without a terminal.
 *
 *   terminal  one summary line and, below it, only the hosts in progress or failed, redrawn in
 *             place and never taller than the terminal; erased when the run ends (the report is
 *             printed once, after it)
 *
 *     12/60 done · 3 changed · 8 in sync · 1 drift · 0 failed · 4s elapsed · ~16s left
 *       rp-13  reading facts 1s
 *       ✗ rp-09  unreachable: rp-09: cannot connect: ECONNREFUSED
 *
 *   no terminal (CI, cron, pipes)  a line per finished host and a heartbeat (the summary) every 10 s
 *
 *   const progress = createProgress(io, { hosts, tty });
 *   runFleet({ ..., events: progress.events, confirm: async (h) => { progress.pause(); ... } });
 *   progress.stop();
 */
import { type FleetEvents, type HostOutcome, type HostPhase, isFailure } from '../engine/run.js';
import { withoutHostName } from '../errors.js';

export interface Progress {
  events: FleetEvents;
  /** take the display off the screen (before printing the plan and asking) */
  pause(): void;
  /** show it again (the apply stage of these hosts) */
  resume(hosts: readonly HostOutcome[]): void;
  stop(): void;
}

/** Where progress goes (stderr: stdout carries only the report), and the terminal's size. */
export interface ProgressIo {
  stderr: { write(text: string): void; rows?: number; columns?: number };
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

/** phases in which rpctl is working on the host (planned: waiting for the confirmation) */
const WORKING: ReadonlySet<HostPhase> = new Set(['connecting', 'facts', 'applying', 'verifying']);

export function outcomeText(o: HostOutcome): string {
  const n = o.changes.length + o.pending.length;
  switch (o.status) {
    case 'in-sync':
      return 'in sync';
    case 'changed':
      return `changed (${o.changes.length})${o.pending.length ? `, ${o.pending.length} deferred` : ''}`;
    case 'drift':
      return `${n} change${n === 1 ? '' : 's'} pending`;
    default:
      return `${o.status}: ${withoutHostName(o.name, o.error?.message ?? '')}`;
  }
}

const duration = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

/** Where the run has got to: what the summary line and the host lines are drawn from. Pure. */
export class FleetTally {
  readonly counts = { changed: 0, inSync: 0, drift: 0, failed: 0 };
  done = 0;
  readonly working = new Map<string, { phase: HostPhase; since: number }>();
  readonly failed = new Map<string, string>();

  constructor(
    readonly total: number,
    readonly startedAt: number,
  ) {}

  phase(host: string, phase: HostPhase, now: number): void {
    if (WORKING.has(phase)) this.working.set(host, { phase, since: now });
    else this.working.delete(host);
  }

  finish(outcome: HostOutcome): void {
    this.working.delete(outcome.name);
    this.done++;
    if (isFailure(outcome.status)) {
      this.counts.failed++;
      this.failed.set(outcome.name, outcomeText(outcome));
    } else if (outcome.status === 'in-sync') this.counts.inSync++;
    else this.counts[outcome.status]++;
  }

  summary(now: number): string {
    const elapsed = now - this.startedAt;
    const left =
      this.done > 0 && this.done < this.total
        ? ` · ~${duration((elapsed / this.done) * (this.total - this.done))} left`
        : '';
    const { changed, inSync, drift, failed } = this.counts;
    return `${this.done}/${this.total} done · ${changed} changed · ${inSync} in sync · ${drift} drift · ${failed} failed · ${duration(elapsed)} elapsed${left}`;
  }

  /** The screen: the summary, then failed and working hosts, at most `rows` lines of `columns`. */
  frame(now: number, rows: number, columns: number): string[] {
    const hosts = [
      ...[...this.failed].map(([name, text]) => `  ✗ ${name}  ${text}`),
      ...[...this.working].map(([name, w]) => `  ${name}  ${PHASE_TEXT[w.phase]} ${duration(now - w.since)}`),
    ];
    const room = Math.max(0, rows - 1);
    const shown =
      hosts.length <= room ? hosts : [...hosts.slice(0, room - 1), `  … ${hosts.length - room + 1} more`];
    const fit = (line: string) =>
      [...line].length > columns ? `${[...line].slice(0, columns - 1).join('')}…` : line;
    return [this.summary(now), ...shown].slice(0, Math.max(1, rows)).map(fit);
  }
}

export function createProgress(
  io: ProgressIo,
  options: { hosts: readonly string[]; tty: boolean; quiet?: boolean; heartbeatMs?: number },
): Progress {
  if (options.quiet) return { events: {}, pause() {}, resume() {}, stop() {} };
  const tally = new FleetTally(options.hosts.length, Date.now());
  return options.tty ? terminalProgress(io, tally) : lineProgress(io, tally, options.heartbeatMs ?? 10_000);
}

function lineProgress(io: ProgressIo, tally: FleetTally, heartbeatMs: number): Progress {
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    timer ??= setInterval(() => io.stderr.write(`progress: ${tally.summary(Date.now())}\n`), heartbeatMs);
    timer.unref();
  };
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  start();
  return {
    events: {
      phase(host, phase) {
        tally.phase(host, phase, Date.now());
        if (phase === 'applying') io.stderr.write(`${host}: applying\n`);
      },
      done(outcome) {
        tally.finish(outcome);
        io.stderr.write(`${outcome.name}: ${outcomeText(outcome)} (${duration(outcome.durationMs)})\n`);
      },
    },
    pause: stop,
    resume: start,
    stop,
  };
}

/**
 * Redrawn in place at most every 100 ms (and every second for the clocks): each line overwritten
 * and cleared to its end, never the whole screen (tmux and others push a cleared screen into the
 * scrollback).
 */
function terminalProgress(io: ProgressIo, tally: FleetTally): Progress {
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const up = () => (drawn > 0 ? `\r\u001b[${drawn}A` : '');
  const draw = () => {
    const lines = tally.frame(Date.now(), (io.stderr.rows ?? 24) - 1, io.stderr.columns ?? 80);
    io.stderr.write(`${up()}${lines.map((l) => `${l}\u001b[K\n`).join('')}\u001b[J`);
    drawn = lines.length;
  };
  let lastDraw = 0;
  let dirty = true;
  const tick = () => {
    const now = Date.now();
    if (now - lastDraw >= 1000 || dirty) {
      dirty = false;
      lastDraw = now;
      draw();
    }
  };
  const start = () => {
    timer ??= setInterval(tick, 100);
    timer.unref();
    tick();
  };
  const clear = () => {
    clearInterval(timer);
    timer = undefined;
    if (drawn > 0) io.stderr.write(`${up()}${'\u001b[2K\n'.repeat(drawn)}${up()}`);
    drawn = 0;
  };
  start();
  return {
    events: {
      phase(host, phase) {
        tally.phase(host, phase, Date.now());
        dirty = true;
      },
      done(outcome) {
        tally.finish(outcome);
        dirty = true;
      },
    },
    pause: clear,
    resume: () => {
      dirty = true;
      start();
    },
    stop: clear,
  };
}
