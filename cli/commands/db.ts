/**
 * `metamer db backup <file>` and `metamer db copy --to postgres://…`: keeping and moving the data
 * (docs/deploying.md). Thin: the store layer does the work (server/store/backup.ts,
 * server/store/copy-to-postgres.ts), loaded only when one of these runs.
 */
import type { Command } from 'commander';
import { dataPaths } from '../paths.ts';

export function register(program: Command): void {
  const db = program.command('db').description('back up the database, or copy a SQLite database into PostgreSQL');

  db.command('backup <file>')
    .description('write a consistent copy of the SQLite database, also while the server runs (PostgreSQL: use pg_dump)')
    .option('--force', 'replace the file if it exists')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { force?: boolean; json?: boolean }, cmd: Command) => {
      const { databaseFor } = await import('../../server/store/open-store.ts');
      const { backupDatabase } = await import('../../server/store/backup.ts');
      const report = await backupDatabase(databaseFor(dataPaths(cmd.optsWithGlobals().db as string).db), file, { force: opts.force });
      if (opts.json) return void process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      const rows = Object.entries(report.rows)
        .map(([t, n]) => `  ${t}: ${n}`)
        .join('\n');
      process.stdout.write(`backup written to ${report.file} (${(report.bytes / 1e6).toFixed(1)} MB), integrity checked:\n${rows}\n`);
    });

  db.command('copy')
    .description('copy the SQLite database (--db) into an empty PostgreSQL database, verifying row counts and every trial')
    .requiredOption('--to <url>', 'the PostgreSQL database, postgres://user:password@host:port/name')
    .option('--json', 'print JSON')
    .action(async (opts: { to: string; json?: boolean }, cmd: Command) => {
      const { copySqliteToPostgres } = await import('../../server/store/copy-to-postgres.ts');
      const { withStore } = await import('../../server/store/open-store.ts');
      const { checkSharedParticipantKey, loadParticipantKey } = await import('../../server/participant-id.ts');
      const paths = dataPaths(cmd.optsWithGlobals().db as string);
      const report = await copySqliteToPostgres(paths.db, opts.to, (table, n) => {
        if (!opts.json) process.stderr.write(`  ${table}: ${n} rows\n`);
      });
      // The copied pseudonyms were made with this deployment's key: instances must keep using it.
      await withStore(opts.to, (store) => checkSharedParticipantKey(store, loadParticipantKey(paths.pidKeyFile)));
      if (opts.json) return void process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(
        `copied ${report.from} into ${report.to}: row counts equal in every table; ` +
          `${report.trials_verified} trials identical (sha256 ${report.trials_sha256.slice(0, 16)}…)\n` +
          `serve from it with METAMER_DATABASE_URL and this deployment's participant-id key (${paths.pidKeyFile}; docs/deploying.md)\n`,
      );
    });
}
