import cron, { type ScheduledTask } from 'node-cron';
import type { Queryable } from '../store/types.js';

/** A task declared as data: what runs, when, and whether runs may overlap. */
export interface TaskDefinition {
  id: string;
  schedule: string;
  /** Skip a firing while the previous run of this task is still going. */
  preventOverlap: boolean;
  run: () => Promise<void>;
}

/**
 * Runs tasks on their cron schedules. With several processes on one PostgreSQL, each
 * firing is claimed once through a unique (task, slot) row, so it runs once, not once
 * per process.
 */
export class Scheduler {
  private readonly tasks = new Map<string, ScheduledTask>();
  private readonly running = new Set<string>();

  constructor(
    private readonly db: Queryable,
    private readonly onError: (taskId: string, err: unknown) => void,
  ) {}

  /** Adds or replaces a task. */
  add(task: TaskDefinition): void {
    this.remove(task.id);
    const scheduled = cron.schedule(task.schedule, (ctx) => this.fire(task, ctx.date), {
      name: task.id,
      noOverlap: false,
    });
    this.tasks.set(task.id, scheduled);
  }

  /** Stops and forgets a task. */
  remove(id: string): void {
    const t = this.tasks.get(id);
    if (t) {
      void t.destroy();
      this.tasks.delete(id);
    }
  }

  /** Stops every task; runs in progress finish on their own. */
  stop(): void {
    for (const id of [...this.tasks.keys()]) this.remove(id);
  }

  /** Ids of the scheduled tasks. */
  list(): string[] {
    return [...this.tasks.keys()];
  }

  private async fire(task: TaskDefinition, at: Date): Promise<void> {
    if (task.preventOverlap && this.running.has(task.id)) return;
    const slot = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    try {
      const claimed = await this.db.query({
        text: `INSERT INTO schedule_claims (task, slot) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING task`,
        values: [task.id, slot],
      });
      if (claimed.length === 0) return;
      this.running.add(task.id);
      await task.run();
    } catch (err) {
      this.onError(task.id, err);
    } finally {
      this.running.delete(task.id);
    }
  }
}
