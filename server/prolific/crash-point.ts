/**
 * Named points where the bonus ledger's tests kill the process for real (SIGKILL, no clean-up),
 * to show that a run interrupted there pays once when it is run again. Inert unless
 * METAMER_PROLIFIC_TEST_CRASH names the point; nothing in normal use sets it.
 */
export const CRASH_ENV = 'METAMER_PROLIFIC_TEST_CRASH';

export function crashPoint(name: string): void {
  if (process.env[CRASH_ENV] === name) process.kill(process.pid, 'SIGKILL');
}
