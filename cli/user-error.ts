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
