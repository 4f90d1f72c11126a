/**
 * An error a client caused or can act on: it carries the HTTP status, a stable `code` for the
 * browser's saving queue to branch on, and a message for people. `expose` marks it as safe to
 * show (the convention in cli/user-error.ts).
 */
import type { ErrorBody } from '../experiment/contract.ts';

export class HttpError extends Error {
  readonly expose = true as const;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Partial<Pick<ErrorBody, 'redirect_url' | 'missing' | 'retry_after_ms'>> = {},
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { error: this.message, code: this.code, ...this.extra };
  }
}

/**
 * Errors a user can fix carry `expose: true` (the http-errors convention, which Express error
 * handlers also honour): the CLI prints their message on one line and exits 1; routes answer 4xx.
 * Anything else is a bug: the CLI prints the stack and exits 1 too, but says so.
 */
export interface ExposedError extends Error {
  expose: true;
  status?: number;
}

export function isExposed(e: unknown): e is ExposedError {
  return e instanceof Error && (e as Partial<ExposedError>).expose === true;
}

/**
 * A mistake the user can fix (a bad setting, a missing study, a design that cannot be planned):
 * the CLI prints the message on one line and exits 1; a route answers `status` with it.
 */
export function userError(message: string, status?: number): ExposedError {
  return Object.assign(new Error(message), { expose: true as const }, status === undefined ? {} : { status });
}
