/**
 * Abandonment: a started session with no trial for the study's `abandon_after_minutes` becomes
 * `abandoned` and gives its Latin-square slot back (the store allocates the lowest slot that no
 * started or completed session holds), so the square keeps filling in order while people drop out.
 *
 * Nothing is ever refused for being late: a trial from an abandoned session is stored and revives
 * the session to `started` (the stores' saveTrial). Its slot may have been given to someone else
 * meanwhile; both then finish on the same slot, which costs balance, never data.
 *
 * The server sweeps on a timer; the dashboard and `metamer study sweep` sweep on demand. Several
 * instances on one database take turns: each tick runs only if no other instance is sweeping
 * (`Store.runExclusive`, an advisory lock on PostgreSQL); the one statement per study makes a
 * sweep safe to repeat, so the lock saves work rather than guarding correctness.
 */
import type { Logger } from 'pino';
import type { Store, StudyRow } from './store/store.ts';

/** Long enough for a rest break, short enough that a closed tab frees its slot within the hour. */
export const DEFAULT_ABANDON_AFTER_MINUTES = 60;
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

export function abandonAfterMinutes(study: StudyRow): number {
  // Studies stored before the field existed have no value: they get the default.
  return study.config.abandon_after_minutes ?? DEFAULT_ABANDON_AFTER_MINUTES;
}

export interface SweepResult {
  study_id: string;
  abandoned: number;
}

export async function sweepStudy(store: Store, study: StudyRow, now = Date.now()): Promise<number> {
  return store.abandonIdleSessions(study.id, now - abandonAfterMinutes(study) * 60_000);
}

/** Sweeps every study (closed ones too: their sessions in progress may still finish or lapse). */
export async function sweepAbandoned(store: Store, now = Date.now()): Promise<SweepResult[]> {
  const out: SweepResult[] = [];
  for (const study of await store.listStudies()) {
    const abandoned = await sweepStudy(store, study, now);
    if (abandoned > 0) out.push({ study_id: study.id, abandoned });
  }
  return out;
}

export interface Sweeper {
  /** Stops the timer; resolves when a sweep under way has finished (the store may then close). */
  stop(): Promise<void>;
}

/** Sweeps now and then every `intervalMs`; the timer never keeps the process alive. */
export function startAbandonmentSweeper(store: Store, opts: { intervalMs?: number; logger?: Logger } = {}): Sweeper {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = sweepOnce().finally(() => (running = null));
  };
  const sweepOnce = async () => {
    try {
      await store.runExclusive('abandonment-sweep', async () => {
        for (const r of await sweepAbandoned(store)) opts.logger?.info(r, 'sessions abandoned');
      });
    } catch (err) {
      opts.logger?.error({ err }, 'abandonment sweep failed');
    }
  };
  tick();
  const timer = setInterval(tick, opts.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
