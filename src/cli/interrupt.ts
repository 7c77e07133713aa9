/**
 * SIGINT / SIGTERM during apply. The apply script of a host that has started runs on the
 * appliance whatever rpctl does, so leaving at once would hide what happened there:
 *
 *   first signal   say that the change already started on N hosts will finish there, start no
 *                  other host, wait for their outcomes, write the run record, exit 130 / 143
 *   second signal  leave at once; the run record says "outcome unknown" for those hosts
 *
 *   const interrupt = new ApplyInterrupt(io, (hosts) => writeUnknownRecord(hosts));
 *   interrupt.listen();  ...  runFleet({ ..., interrupted: () => interrupt.requested, events: interrupt.track(events) })
 */
import type { FleetEvents, HostPhase } from '../engine/run.js';
import { ExitCode } from '../errors.js';

type StopSignal = 'SIGINT' | 'SIGTERM';

const EXIT_CODES: Record<StopSignal, ExitCode> = {
  SIGINT: ExitCode.interrupted,
  SIGTERM: ExitCode.terminated,
};

export class ApplyInterrupt {
  /** the first signal received, if any */
  signal: StopSignal | undefined;
  private readonly applying = new Set<string>();
  private readonly handlers = new Map<StopSignal, () => void>();

  /** `leave`: called on the second signal with the hosts whose outcome is unknown; it must exit. */
  constructor(
    private readonly stderr: { write(text: string): void },
    private readonly leave: (unknown: string[], exitCode: ExitCode) => void,
  ) {}

  get requested(): boolean {
    return this.signal !== undefined;
  }

  get exitCode(): ExitCode | undefined {
    return this.signal && EXIT_CODES[this.signal];
  }

  listen(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => this.received(signal);
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  stop(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    this.handlers.clear();
  }

  /** The run's events, noting which hosts are applying. */
  track(events: FleetEvents): FleetEvents {
    return {
      ...events,
      phase: (host: string, phase: HostPhase, detail?: string) => {
        if (phase === 'applying') this.applying.add(host);
        if (phase === 'done') this.applying.delete(host);
        events.phase?.(host, phase, detail);
      },
    };
  }

  private received(signal: StopSignal): void {
    const hosts = [...this.applying];
    if (this.signal !== undefined) {
      this.stderr.write(
        `rpctl: ${signal} again: leaving now; the outcome on ${hosts.join(', ') || 'no host'} is unknown (see the run record)\n`,
      );
      this.leave(hosts, this.exitCode ?? EXIT_CODES[signal]);
      return;
    }
    this.signal = signal;
    const started =
      hosts.length === 0
        ? 'no change has started; stopping'
        : `the change already started on ${hosts.length} host${hosts.length === 1 ? '' : 's'} (${hosts.join(', ')}) will finish there; waiting for ${hosts.length === 1 ? 'its' : 'their'} outcome, no other host is started`;
    this.stderr.write(`rpctl: ${signal}: ${started} (${signal} again leaves at once, the outcome unknown)\n`);
  }
}
