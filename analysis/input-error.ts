/**
 * A mistake in the analyst's input (a CSV cell, a study id, an option): the CLI prints the message
 * on one line and exits 1, following the project's `expose: true` convention (server/http-error.ts).
 * Defined here because analysis/ stays free of cli/ and server/ imports.
 */
export class AnalysisInputError extends Error {
  readonly expose = true as const;
  readonly status = 400;
}

/**
 * Rethrows an error met while reading `file` with csv-parse: analysis input errors as they are,
 * csv-parse's own (unclosed quotes, ragged rows; they carry their line number) as an input error
 * naming the file and line, anything else unchanged.
 */
export function rethrowCsvError(file: string, e: unknown): never {
  if (e instanceof AnalysisInputError) throw e;
  const err = e as { code?: string; lines?: number; message?: string };
  if (err.code?.startsWith('CSV_')) throw new AnalysisInputError(`${file}: line ${err.lines ?? '?'}: ${err.message}`);
  throw e;
}
