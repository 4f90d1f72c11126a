/** Commander argument parsers shared by the analysis commands (invalid values exit 2, as misuse). */
import { InvalidArgumentError } from 'commander';

export function integer(min: number): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}, got "${v}"`);
    return x;
  };
}

export function list(v: string): string[] {
  const items = v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError(`expected a comma-separated list, got "${v}"`);
  return items;
}
