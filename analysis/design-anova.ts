/**
 * A repeated-measures or mixed ANOVA with everything the output reports: the table with
 * sphericity (rm-design.ts) and the permutation p-values of the chosen scheme (permutation.ts).
 */
import {
  describeScheme,
  paperProcedureFor,
  type PermutationRunOptions,
  type PermutationScheme,
  runPermutationTests,
} from './permutation.ts';
import { type RmAnovaTable, type RmDesign, rmAnovaTable } from './rm-design.ts';

export interface DesignAnova extends RmAnovaTable {
  permutations: number;
  permutation_scheme: PermutationScheme;
  /** The scheme in words: which procedure, and how p is counted. */
  permutation_procedure: string;
}

export function designAnova(d: RmDesign, opts: PermutationRunOptions): DesignAnova {
  const table = rmAnovaTable(d);
  runPermutationTests(d, table, opts);
  return {
    ...table,
    permutations: opts.permutations,
    permutation_scheme: opts.scheme,
    permutation_procedure: describeScheme(opts.scheme, opts.procedure ?? paperProcedureFor(d)),
  };
}
