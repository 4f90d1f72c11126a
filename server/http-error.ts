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
    readonly extra: Partial<Pick<ErrorBody, 'redirect_url' | 'missing'>> = {},
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { error: this.message, code: this.code, ...this.extra };
  }
}

/**
 * A mistake the user can fix (a bad setting, a missing study, a design that cannot be planned):
 * the CLI prints the message on one line and exits 1; a route answers `status` with it.
 */
export function userError(message: string, status?: number): Error & { expose: true; status?: number } {
  return Object.assign(new Error(message), { expose: true as const }, status === undefined ? {} : { status });
}
