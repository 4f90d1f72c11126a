/**
 * `metamer`: a thin layer that parses arguments and calls the modules. Exit codes (docs/design.md §4):
 * 0 success, 1 a user error (one line naming the file/field), 2 misuse of the command line.
 */
import { Command, CommanderError } from 'commander';
import { isExposed } from '../server/http-error.ts';
import { registerCommands } from './commands/index.ts';

const program = new Command('metamer')
  .description('Online psychophysics for model metamers')
  .option(
    '--db <file>',
    'SQLite database (env METAMER_DB); METAMER_DATABASE_URL=postgres://… uses PostgreSQL instead, the data folder staying beside this file',
    process.env.METAMER_DB ?? 'data/metamer.db',
  )
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

await registerCommands(program, process.argv.slice(2));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version arrive here too, with exit code 0.
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  if (isExposed(e)) {
    process.stderr.write(`metamer: ${e.message}\n`);
    process.exit(1);
  }
  // zod is loaded only here, on the error path: importing it costs every command's start-up.
  const { ZodError } = await import('zod');
  if (e instanceof ZodError) {
    for (const issue of e.issues) process.stderr.write(`metamer: ${issue.path.join('.') || '(input)'}: ${issue.message}\n`);
    process.exit(1);
  }
  const sources = process.sourceMapsEnabled ? '' : '(run it again with METAMER_SOURCE_MAPS=1 for positions in the TypeScript sources)\n';
  process.stderr.write(`metamer: internal error (please report):\n${e instanceof Error ? e.stack : String(e)}\n${sources}`);
  process.exit(1);
}
