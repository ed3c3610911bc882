import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Firing, Scheduler, type SkipReason } from '../../../src/schedule/scheduler.js';
import type { Queryable } from '../../../src/store/types.js';

// Tasks that run in every process never claim a slot: these tests need no store.
const noStore: Queryable = {
  query: () => Promise.reject(new Error('no store in unit tests')),
  exec: () => Promise.reject(new Error('no store in unit tests')),
};

const schedulers: Scheduler[] = [];
function scheduler(errors: unknown[] = []): Scheduler {
  const s = new Scheduler(noStore, (_task, err) => errors.push(err));
  schedulers.push(s);
  return s;
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
});

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('declaring tasks', () => {
  it('passes the time zone to node-cron: 09:00 in Paris fires at 08:00Z in winter', () => {
    vi.useFakeTimers({ now: new Date('2026-01-15T00:00:00Z'), toFake: ['Date'] });
    const s = scheduler();
    s.add({
      id: 'paris',
      schedule: '0 9 * * *',
      timezone: 'Europe/Paris',
      preventOverlap: true,
      run: async () => {},
    });
    s.add({ id: 'utc', schedule: '0 9 * * *', preventOverlap: true, run: async () => {} });
    expect(s.nextRun('paris')?.toISOString()).toBe('2026-01-15T08:00:00.000Z');
    expect(s.nextRun('utc')?.toISOString()).toBe('2026-01-15T09:00:00.000Z');
    expect(s.nextRun('paris', new Date('2026-07-01T12:00:00Z'))?.toISOString()).toBe(
      '2026-07-02T07:00:00.000Z',
    );
    expect(s.get('utc')?.timezone).toBe('UTC');
  });

  it('refuses a bad expression or time zone and keeps the task it would replace', () => {
    const s = scheduler();
    s.add({ id: 't', schedule: '0 3 * * *', preventOverlap: true, run: async () => {} });
    expect(() => s.add({ id: 't', schedule: '0 3 * *', preventOverlap: true, run: async () => {} })).toThrow(
      /not a valid cron expression/,
    );
    expect(() =>
      s.add({
        id: 't',
        schedule: '0 4 * * *',
        timezone: 'Mars/Olympus',
        preventOverlap: true,
        run: async () => {},
      }),
    ).toThrow(/not a known time zone/);
    expect(s.get('t')).toMatchObject({ schedule: '0 3 * * *', timezone: 'UTC' });
  });

  it('replaces a task by id and removes it', () => {
    const s = scheduler();
    s.add({ id: 't', schedule: '0 3 * * *', preventOverlap: true, run: async () => {} });
    s.add({ id: 't', schedule: '0 4 * * *', preventOverlap: true, run: async () => {} });
    expect(s.list()).toEqual(['t']);
    expect(s.get('t')?.schedule).toBe('0 4 * * *');
    s.remove('t');
    expect(s.list()).toEqual([]);
  });
});

describe('firing', () => {
  it('skips a firing while the previous run is going, and says so', async () => {
    const s = scheduler();
    const gate = deferred();
    const runs: Firing[] = [];
    const skipped: [Firing, SkipReason][] = [];
    s.add({
      id: 'slow',
      schedule: '0 3 * * *',
      preventOverlap: true,
      everyProcess: true,
      run: async (f) => {
        runs.push(f);
        await gate.promise;
      },
      onSkipped: async (f, reason) => {
        skipped.push([f, reason]);
      },
    });
    const first = s.fire('slow', new Date('2026-01-15T03:00:00.250Z'));
    expect(await s.fire('slow', new Date('2026-01-16T03:00:00Z'))).toBe('overlap');
    gate.resolve();
    expect(await first).toBe('ran');
    expect(runs.map((f) => f.slot.toISOString())).toEqual(['2026-01-15T03:00:00.000Z']);
    expect(skipped).toEqual([
      [{ taskId: 'slow', slot: new Date('2026-01-16T03:00:00Z'), reason: 'scheduled' }, 'overlap'],
    ]);
    // Once the run is over, the next firing runs.
    expect(await s.fire('slow', new Date('2026-01-17T03:00:00Z'))).toBe('ran');
  });

  it('reports a failing run to onError and goes on', async () => {
    const errors: unknown[] = [];
    const s = scheduler(errors);
    s.add({
      id: 'broken',
      schedule: '0 3 * * *',
      preventOverlap: true,
      everyProcess: true,
      run: async () => {
        throw new Error('boom');
      },
    });
    expect(await s.fire('broken', new Date())).toBe('ran');
    expect(await s.fire('broken', new Date())).toBe('ran');
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom', 'boom']);
  });

  it('reports a claim the store refuses, and runs nothing', async () => {
    const errors: unknown[] = [];
    const s = scheduler(errors);
    let ran = false;
    s.add({
      id: 'claimed',
      schedule: '0 3 * * *',
      preventOverlap: true,
      run: async () => {
        ran = true;
      },
    });
    expect(await s.fire('claimed', new Date())).toBe('failed');
    expect(ran).toBe(false);
    expect(errors).toHaveLength(1);
  });

  it('runs tasks on the clock, with the slot node-cron names', async () => {
    const s = scheduler();
    const slots: Date[] = [];
    s.add({
      id: 'every-second',
      schedule: '* * * * * *',
      preventOverlap: true,
      everyProcess: true,
      run: async (f) => {
        slots.push(f.slot);
      },
    });
    await vi.waitFor(() => expect(slots.length).toBeGreaterThan(0), { timeout: 3000, interval: 50 });
    expect(slots[0]?.getMilliseconds()).toBe(0);
  });

  it('stops: waits for the runs in progress and fires nothing more', async () => {
    const s = scheduler();
    const gate = deferred();
    let finished = false;
    s.add({
      id: 'slow',
      schedule: '0 3 * * *',
      preventOverlap: true,
      everyProcess: true,
      run: async () => {
        await gate.promise;
        finished = true;
      },
    });
    void s.fire('slow', new Date());
    const stopped = s.stop();
    setTimeout(() => gate.resolve(), 20);
    await stopped;
    expect(finished).toBe(true);
    expect(s.list()).toEqual([]);
    expect(await s.fire('slow', new Date())).toBe('not-scheduled');
    s.add({ id: 'late', schedule: '0 3 * * *', preventOverlap: true, run: async () => {} });
    expect(s.list()).toEqual([]);
  });
});
