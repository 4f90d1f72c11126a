/**
 * `metamer admin token [--rotate]`: the dashboard's admin token (docs/design.md §4: METAMER_ADMIN_TOKEN, or
 * the `admin-token` file beside the database). `--rotate` writes a new one and ends every log-in;
 * a running server takes the new token at the next log-in, without a restart.
 */
import type { Command } from 'commander';
import { ADMIN_TOKEN_ENV, loadAdminToken, rotateAdminToken } from '../../server/admin-token.ts';
import { databaseFor, withStore } from '../../server/store/open-store.ts';
import { dataPaths } from '../paths.ts';

interface TokenReport {
  token: string;
  origin: 'env' | 'file';
  file?: string;
  created: boolean;
  rotated: boolean;
  /** Log-ins ended by the rotation. */
  logged_out: number;
}

export function register(program: Command): void {
  const admin = program.command('admin').description('the experimenter dashboard: admin token and log-ins');

  admin
    .command('token')
    .description("show the admin token for the dashboard's log-in (created if there is none yet)")
    .option('--rotate', 'replace it with a new token and log everybody out')
    .option('--json', 'print JSON')
    .action(async (opts: { rotate?: boolean; json?: boolean }, cmd: Command) => {
      const paths = dataPaths(cmd.optsWithGlobals().db as string);
      let out: TokenReport;
      if (opts.rotate) {
        const token = rotateAdminToken(paths.adminTokenFile);
        const loggedOut = await withStore(databaseFor(paths.db), (store) => store.deleteAdminSessions(Date.now()));
        out = { token, origin: 'file', file: paths.adminTokenFile, created: true, rotated: true, logged_out: loggedOut };
      } else {
        out = { ...loadAdminToken(paths.adminTokenFile), rotated: false, logged_out: 0 };
      }
      if (opts.json) return void process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      const where = out.origin === 'env' ? `from ${ADMIN_TOKEN_ENV}` : `${out.created ? 'new, ' : ''}kept in ${out.file}`;
      // The token alone on stdout (for scripts); what it is on stderr.
      process.stdout.write(`${out.token}\n`);
      process.stderr.write(`admin token (${where})${out.rotated ? `; ${out.logged_out} log-in(s) ended` : ''}\n`);
    });
}
