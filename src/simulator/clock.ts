import type { ClockAdvance, SimulatorClock } from './types';

/** A task due at a time on the simulator clock. */
export interface ScheduledTask {
  readonly at: number;
  readonly label: string;
}

interface Task extends ScheduledTask {
  run: () => void;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

const MAX_TIMER_MS = 2_147_483_647;

/** The longest `advance` accepted in one call: 31 days (a month-end or a 7-day auto-approval fits). */
export const MAX_ADVANCE_MS = 31 * 24 * 3_600_000;

/**
 * The simulator's time and the timers that run on it.
 *
 * Time is `base() + offset`, where `base` is the caller's `now` option (or `Date.now`), or it is a
 * shared {@link SimulatorClock} the composition root also gives the service, so both move together.
 * {@link SimClock.advance} moves time forward and runs, in due order, every task that became due,
 * stepping the clock to each task's due time first, so the events a task publishes carry the time at
 * which AWS would have sent them.
 *
 * A task also runs when its delay has passed in real time (a real timer, as before the clock could be
 * advanced), so a simulator nobody advances behaves exactly as one whose delays are real timers.
 */
export class SimClock {
  private offset = 0;
  private readonly tasks = new Set<Task>();
  private readonly listeners = new Set<(e: ClockAdvance) => void>();
  private advancing = false;
  private stopped = false;

  constructor(
    private readonly base: () => number,
    private readonly shared?: SimulatorClock,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Epoch ms on the simulator clock. */
  readonly now = (): number => (this.shared ? this.shared.now() : this.base() + this.offset);

  /** Runs `run` once, `delayMs` from now on the simulator clock (or after `delayMs` of real time, whichever comes first). */
  schedule(delayMs: number, label: string, run: () => void): ScheduledTask {
    const task: Task = { at: this.now() + Math.max(0, delayMs), label, run, timer: undefined, done: false };
    this.tasks.add(task);
    this.arm(task, Math.max(0, delayMs));
    return task;
  }

  /** Forgets a task that has not run yet (no-op for one that has). */
  cancel(task: ScheduledTask | undefined): void {
    if (!task) return;
    const t = task as Task;
    if (t.timer) clearTimeout(t.timer);
    t.done = true;
    this.tasks.delete(t);
  }

  /** Tasks not yet run, soonest first. */
  pending(): ScheduledTask[] {
    return [...this.tasks].sort((a, b) => a.at - b.at).map((t) => ({ at: t.at, label: t.label }));
  }

  /**
   * Moves the clock forward by `ms` (1 ms … {@link MAX_ADVANCE_MS}) and runs every task that became due,
   * in due order, including tasks those tasks schedule within the window. Throws `RangeError` for a
   * bad amount; refuses a nested advance (a task that advances the clock) with an `Error`.
   */
  advance(ms: number): ClockAdvance {
    if (!Number.isFinite(ms) || !Number.isInteger(ms) || ms <= 0 || ms > MAX_ADVANCE_MS) {
      throw new RangeError(`advance takes a whole number of milliseconds from 1 to ${MAX_ADVANCE_MS}, got ${String(ms)}`);
    }
    if (this.advancing) throw new Error('the clock is already being advanced');
    this.advancing = true;
    const from = this.now();
    const target = from + ms;
    let fired = 0;
    try {
      for (;;) {
        const next = [...this.tasks].filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        this.moveTo(next.at);
        this.fire(next);
        fired += 1;
      }
      this.moveTo(target);
    } finally {
      this.advancing = false;
    }
    const event: ClockAdvance = { advancedMs: ms, from, now: this.now(), fired };
    this.log(`clock advanced by ${ms} ms to ${new Date(event.now).toISOString()} (${fired} task(s) run)`);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log(`clock listener failed: ${(err as Error)?.stack ?? String(err)}`);
      }
    }
    return event;
  }

  /** Subscribes to advances; returns the unsubscribe function. */
  onAdvanced(listener: (e: ClockAdvance) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tasks) if (t.timer) clearTimeout(t.timer);
    this.tasks.clear();
    this.listeners.clear();
  }

  /** The real-time fallback; setTimeout holds at most 2^31-1 ms (about 24.8 days), so longer delays re-arm. */
  private arm(task: Task, remainingMs: number): void {
    const step = Math.min(remainingMs, MAX_TIMER_MS);
    task.timer = setTimeout(() => {
      if (remainingMs > MAX_TIMER_MS) this.arm(task, remainingMs - MAX_TIMER_MS);
      else this.fire(task);
    }, step);
    task.timer.unref();
  }

  private moveTo(at: number): void {
    const delta = at - this.now();
    if (delta <= 0) return;
    if (this.shared) this.shared.advance(delta);
    else this.offset += delta;
  }

  private fire(task: Task): void {
    if (task.done || this.stopped) return;
    task.done = true;
    if (task.timer) clearTimeout(task.timer);
    this.tasks.delete(task);
    try {
      task.run();
    } catch (err) {
      // A task runs a lifecycle step; a step that no longer applies (the state moved on) is logged, not thrown.
      this.log(`scheduled ${task.label} failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}
