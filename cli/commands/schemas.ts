/**
 * `metamer schemas --out <dir>`: JSON Schemas of the input files, for editors' completion and
 * validation. Generated from the zod schemas, which stay the single source of truth.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { Manifest } from '../../stimuli/manifest.ts';
import { StudyConfigInput } from '../../server/study-config.ts';

export const SCHEMAS = {
  'stimulus-set-manifest.schema.json': Manifest,
  'study-config.schema.json': StudyConfigInput,
} as const;

export function register(program: Command): void {
  program
    .command('schemas')
    .description('write JSON Schemas of manifest.json and study configs')
    .option('--out <dir>', 'output folder', 'schemas')
    .action((opts: { out: string }) => {
      fs.mkdirSync(opts.out, { recursive: true });
      for (const [file, schema] of Object.entries(SCHEMAS)) {
        const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
        fs.writeFileSync(path.join(opts.out, file), JSON.stringify(json, null, 2) + '\n');
        process.stdout.write(`wrote ${path.join(opts.out, file)}\n`);
      }
    });
}
