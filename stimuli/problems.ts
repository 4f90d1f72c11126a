/**
 * Problems found in a stimulus set. Validation never stops at the first one: an experimenter
 * fixing a tree of 100,000 files wants the whole list, one line per problem, naming the file and
 * the field at fault.
 */
export interface Problem {
  /** The file at fault, as the user would type it (the import folder joined with the path in it). */
  file: string;
  /** The field or part of the file at fault (`category`, `layer`, `width`, `items.3.id`, …). */
  field?: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return p.field ? `${p.file}: ${p.field}: ${p.message}` : `${p.file}: ${p.message}`;
}

/** Thrown when a set has any problem; nothing has been stored. A user error (`expose`). */
export class StimulusSetError extends Error {
  readonly expose = true as const;
  readonly status = 422;
  constructor(
    readonly problems: Problem[],
    what: string,
  ) {
    const first = problems[0];
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${what}, nothing imported` +
        (first ? `; first: ${formatProblem(first)}` : ''),
    );
    this.name = 'StimulusSetError';
  }
}

/** Collects problems in the order they are found; the importer sorts them before reporting. */
export class Problems {
  readonly list: Problem[] = [];
  add(file: string, field: string | undefined, message: string): void {
    this.list.push(field === undefined ? { file, message } : { file, field, message });
  }
  get size(): number {
    return this.list.length;
  }
  sorted(): Problem[] {
    return [...this.list].sort((a, b) => cmp(a.file, b.file) || cmp(a.field ?? '', b.field ?? '') || cmp(a.message, b.message));
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
