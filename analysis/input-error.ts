/**
 * A mistake in the analyst's input (a CSV cell, a study id, an option): the CLI prints the message
 * on one line and exits 1, following the project's `expose: true` convention (server/http-error.ts).
 * Defined here because analysis/ stays free of cli/ and server/ imports.
 */
export class AnalysisInputError extends Error {
  readonly expose = true as const;
  readonly status = 400;
}
