/**
 * `metamer stimuli example <dir>`: writes a small example set in the folder-tree layout (from the
 * demo images), the starting point of README's first study. A subcommand of `stimuli` (stimuli.ts
 * adds it); the copying code loads only when it runs.
 */
import type { Command } from 'commander';

export function registerExample(stimuli: Command): void {
  stimuli
    .command('example <dir>')
    .description('write a small example stimulus set (folder-tree layout, from the demo images) to <dir>')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const { writeExampleSet } = await import('../../stimuli/example-set.ts');
      const r = writeExampleSet(dir);
      process.stdout.write(
        opts.json
          ? JSON.stringify(r, null, 2) + '\n'
          : `wrote ${r.files} files to ${r.dir}: ${r.categories.length} categories (${r.categories.join(', ')}), ` +
              `${r.sources} main sources, ${r.practice} practice images\n`,
      );
    });
}
