/**
 * New SSH connections to a host whose first connection may be gone, over one address: used by
 * commit-confirmed (a handler may cut the path; it tries until its window ends) and by an apply
 * whose connection dropped (host.ts, outcome.ts: one new connection, no more).
 *
 *   const again = new Reconnections(ctx, address, { connections: 1 });
 *   const read = await again.exec(command, deadline);   // undefined: no connection, or it was lost
 *   ...; await again.closeAll();                         // again.sessions: their stats
 */
import { oneLine } from '../errors.js';
import type { ShellCommand } from '../transport/shell.js';
import type { ExecResult, HostSession } from '../transport/types.js';
import type { ApplyContext } from './apply-result.js';

const EXEC_TIMEOUT_MS = 20_000;

/** New connections to the host over one address, one at a time, each kept until it fails. */
export class Reconnections {
  readonly sessions: HostSession[] = [];
  /** why the last attempt failed; a connection that hangs until the host answers again fails nothing */
  lastError = 'no answer';
  private current: HostSession | undefined;
  private attempts = 0;

  constructor(
    private readonly ctx: Pick<ApplyContext, 'reconnect'>,
    readonly address: string,
    /** `connections`: how many connections may be opened at most (default: no limit) */
    private readonly limits: { connections?: number } = {},
  ) {}

  /** The session commands run over now, if one is open. */
  get session(): HostSession | undefined {
    return this.current;
  }

  async exec(command: ShellCommand, until: number): Promise<ExecResult | undefined> {
    if (!this.current) {
      if (this.attempts >= (this.limits.connections ?? Number.POSITIVE_INFINITY)) return undefined;
      this.attempts++;
      const connectSeconds = Math.min(10, Math.max(1, Math.ceil((until - Date.now()) / 1000)));
      try {
        this.current = await this.ctx.reconnect(this.address, connectSeconds);
        this.sessions.push(this.current);
      } catch (err) {
        this.lastError = oneLine(err);
        return undefined;
      }
    }
    try {
      const timeoutMs = Math.min(EXEC_TIMEOUT_MS, Math.max(1000, until - Date.now()));
      return await this.current.exec(command, { sudo: true, timeoutMs });
    } catch (err) {
      this.lastError = oneLine(err);
      const lost = this.current;
      this.current = undefined;
      void lost.close();
      return undefined;
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close().catch(() => undefined)));
  }
}
