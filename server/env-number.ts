/**
 * Numeric settings from the environment. A typo (`512MB`, `3O`) must stop the server with a clear
 * message, not turn into NaN and silently disable what the setting controls.
 */
import { userError } from './http-error.ts';

export function envNumber(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw userError(`${name} must be a number ≥ ${min}, not "${raw}"`);
  }
  return value;
}
