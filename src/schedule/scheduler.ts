import cron, { type ScheduledTask } from 'node-cron';
import { claimSlot, deleteClaimsBefore } from '../store/schedule-claims.js';
import type { Queryable } from '../store/types.js';
import { DEFAULT_TIME_ZONE, isTimeZone, nextFiring } from './cron-time.js';

/** One firing of a task: which task, which slot (the scheduled time), and why it runs. */
export interface Firing {
  taskId: string;
  /** The scheduled time, to the second: the same in every process, so it names the firing. */
  slot: Date;
  /** `scheduled` when the clock fired it; `catch-up` when a process runs a firing it missed. */
  reason: 'scheduled' | 'catch-up';
}

/** Why a firing did not run the task. */
export type SkipReason = 'overlap';

/** A task declared as data: what runs, when, and whether runs may overlap. */
export interface TaskDefinition {
  id: string;
  /** A node-cron expression (5 fields, or 6 with seconds). */
  schedule: string;
  /** The IANA time zone the expression is read in; UTC when left out. */
  timezone?: string;
  /** Skip a firing while the previous run of this task in this process is still going. */
  preventOverlap: boolean;
  /**
   * Run in every process instead of once across the processes sharing the store: for work
   * on the process's own state, such as reconciling its schedules.
   */
  everyProcess?: boolean;
  run: (firing: Firing) => Promise<void>;
  /** Told about a firing that this process claimed but did not run. */
  onSkipped?: (firing: Firing, reason: SkipReason) => Promise<void>;
}

/** What became of one firing in this process. */
export type FireOutcome =
  /** The task ran (it may have failed: onError was told). */
  | 'ran'
  /** Another process (or scheduler) claimed the slot and runs it. */
  | 'claimed-elsewhere'
  /** Claimed, but the previous run was still going: skipped and reported. */
  | 'overlap'
  /** The claim could not be written (the store is down): onError was told. */
  | 'failed'
  /** No such task, or the scheduler is stopped. */
  | 'not-scheduled';

/** How long a process may fire late (event loop blocked, machine asleep) and still run. */
const MISSED_TOLERANCE_MS = 60_000;

interface Entry {
  definition: TaskDefinition;
  cronTask: ScheduledTask;
}

/**
 * Runs tasks on their cron schedules. With several processes on one PostgreSQL, each
 * firing is claimed once through a unique (task, slot) row, so it runs once, not once
 * per process.
 */
export class Scheduler {
  private readonly tasks = new Map<string, Entry>();
  private readonly running = new Set<string>();
  private readonly inFlight = new Set<Promise<FireOutcome>>();
  private stopped = false;

  constructor(
    private readonly db: Queryable,
    private readonly onError: (taskId: string, err: unknown) => void,
  ) {}

  /**
   * Adds or replaces a task. Throws on an invalid expression or time zone (the task it
   * would replace stays). Does nothing once the scheduler is stopped.
   */
  add(task: TaskDefinition): void {
    if (this.stopped) return;
    const timezone = task.timezone ?? DEFAULT_TIME_ZONE;
    if (!cron.validate(task.schedule)) throw new Error(`"${task.schedule}" is not a valid cron expression`);
    if (!isTimeZone(timezone)) throw new Error(`"${timezone}" is not a known time zone`);
    this.remove(task.id);
    const definition = { ...task, timezone };
    const cronTask = cron.schedule(task.schedule, (ctx) => this.fire(task.id, ctx.date), {
      name: task.id,
      timezone,
      // Overlap is decided here, after the claim, so that a skipped firing is reported once.
      noOverlap: false,
      missedExecutionTolerance: MISSED_TOLERANCE_MS,
    });
    this.tasks.set(task.id, { definition, cronTask });
  }

  /** Stops and forgets a task; a run in progress finishes on its own. */
  remove(id: string): void {
    const entry = this.tasks.get(id);
    if (entry) {
      void entry.cronTask.destroy();
      this.tasks.delete(id);
    }
  }

  /**
   * Stops every task and refuses new ones; resolves once the runs in progress have
   * finished (a caller that does not wait may close the store under them).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const id of [...this.tasks.keys()]) this.remove(id);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Ids of the scheduled tasks. */
  list(): string[] {
    return [...this.tasks.keys()];
  }

  /** A scheduled task as declared, its time zone filled in. */
  get(id: string): (TaskDefinition & { timezone: string }) | undefined {
    const d = this.tasks.get(id)?.definition;
    return d ? { ...d, timezone: d.timezone ?? DEFAULT_TIME_ZONE } : undefined;
  }

  /**
   * When a task fires next after `after` (now by default), in its time zone; null for an
   * unknown task. Without `after`, node-cron's own answer.
   */
  nextRun(id: string, after?: Date): Date | null {
    const entry = this.tasks.get(id);
    if (!entry) return null;
    if (after === undefined) return entry.cronTask.getNextRun();
    const { schedule, timezone } = entry.definition;
    return nextFiring(schedule, timezone ?? DEFAULT_TIME_ZONE, after);
  }

  /**
   * Fires a task for the slot `at` (to the second): claims the slot, then runs the task
   * unless its previous run in this process is still going. The clock calls this; so do
   * start-up catch-up and tests.
   */
  fire(id: string, at: Date, reason: Firing['reason'] = 'scheduled'): Promise<FireOutcome> {
    const p = this.fireOnce(id, at, reason);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /**
   * Claims a (task, slot) once across every process sharing the store: true for the one
   * caller that got it. For one-off work outside a schedule, such as a start-up import.
   */
  claim(taskId: string, at: Date): Promise<boolean> {
    return claimSlot(this.db, taskId, slotOf(at));
  }

  /** Deletes the claims of slots before `before`; they can never fire again. Returns how many. */
  pruneClaims(before: Date): Promise<number> {
    return deleteClaimsBefore(this.db, before);
  }

  private async fireOnce(id: string, at: Date, reason: Firing['reason']): Promise<FireOutcome> {
    const entry = this.tasks.get(id);
    if (!entry || this.stopped) return 'not-scheduled';
    const task = entry.definition;
    const firing: Firing = { taskId: id, slot: slotOf(at), reason };
    if (!task.everyProcess) {
      try {
        if (!(await this.claim(id, firing.slot))) return 'claimed-elsewhere';
      } catch (err) {
        this.onError(id, err);
        return 'failed';
      }
    }
    if (task.preventOverlap && this.running.has(id)) {
      try {
        await task.onSkipped?.(firing, 'overlap');
      } catch (err) {
        this.onError(id, err);
      }
      return 'overlap';
    }
    this.running.add(id);
    try {
      await task.run(firing);
    } catch (err) {
      this.onError(id, err);
    } finally {
      this.running.delete(id);
    }
    return 'ran';
  }
}

/** A firing's slot: its time to the second, as node-cron names it in every process. */
function slotOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

/** How long claims are kept: far longer than any firing can be late. */
export const CLAIM_RETENTION_DAYS = 7;

/** A task that deletes old claims every hour, once across the processes. */
export function claimPruningTask(scheduler: Scheduler, retentionDays = CLAIM_RETENTION_DAYS): TaskDefinition {
  return {
    id: 'schedule:prune-claims',
    schedule: '41 * * * *',
    preventOverlap: true,
    run: async () => {
      await scheduler.pruneClaims(new Date(Date.now() - retentionDays * 86_400_000));
    },
  };
}
