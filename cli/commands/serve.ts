/**
 * `metamer serve`: the participant server. `--demo` (what `npm start` runs) first imports and
 * launches the demo studies under stimuli/demo/.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { BlobStore } from '../../stimuli/blob-store.ts';
import { startServer } from '../../server/app.ts';
import { setUpDemoStudies } from '../../server/demo-studies.ts';
import { participantUrl } from '../../server/participant-url.ts';
import { dataPaths } from '../paths.ts';
import { userError } from '../../server/http-error.ts';

function portNumber(v: string): number | null {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 65535 && v.trim() !== '' ? n : null;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the server (participant pages, stimuli, API)')
    .option('--port <n>', 'port (env PORT, default 8080)', (v: string) => {
      const port = portNumber(v);
      // A bad flag is a mistake on the command line: commander exits 2.
      if (port === null) throw new InvalidArgumentError('not a port number (0–65535)');
      return port;
    })
    .option('--host <addr>', 'address to listen on (env HOST); 0.0.0.0 for all interfaces', process.env.HOST ?? '127.0.0.1')
    .option(
      '--stimulus-base-url <url>',
      'where browsers load stimuli from, e.g. a CDN (env METAMER_STIMULUS_BASE_URL)',
      process.env.METAMER_STIMULUS_BASE_URL,
    )
    .option('--demo', 'import and launch the demo studies under stimuli/demo/ first')
    .action(async (opts: { port?: number; host: string; stimulusBaseUrl?: string; demo?: boolean }, cmd: Command) => {
      const port = opts.port ?? portNumber(process.env.PORT ?? '8080');
      if (port === null) throw userError(`PORT: "${process.env.PORT}" is not a port number`);
      const paths = dataPaths(cmd.optsWithGlobals().db as string);
      const server = await startServer({
        dbFile: paths.db,
        blobDir: paths.blobs,
        participantKeyFile: paths.pidKeyFile,
        adminTokenFile: paths.adminTokenFile,
        port,
        host: opts.host,
        stimulusBaseUrl: opts.stimulusBaseUrl,
      });
      const say = (line: string) => process.stdout.write(line + '\n');
      if (opts.demo) {
        const demo = await setUpDemoStudies(server.store, new BlobStore(paths.blobs), undefined, say);
        server.sessions.forget();
        if (demo.studies.length === 0)
          say('No demo studies found under stimuli/demo/. Import a set with: npx metamer stimuli import <dir> --name <set>');
      }
      const base = process.env.METAMER_PUBLIC_URL?.replace(/\/+$/, '') ?? server.url;
      say(`metamer: serving on ${server.url} (database ${server.store.description})`);
      say(`  experimenter dashboard: ${base}/admin`);
      // The token goes to stderr, for the person starting the server: stdout carries the JSON log
      // lines, which are collected and shipped, and a secret has no place among them.
      const tell = (line: string) => process.stderr.write(line + '\n');
      const token = server.admin.token;
      if (token.created) {
        // Shown this once; `metamer admin token` shows it again, `--rotate` replaces it.
        tell(`metamer: admin token (new; kept in ${token.file}): ${token.token}`);
      } else {
        tell(`metamer: admin token ${token.origin === 'env' ? 'from METAMER_ADMIN_TOKEN' : `in ${token.file} (npx metamer admin token)`}`);
      }
      const studies = await server.store.listStudies();
      for (const s of studies.filter((x) => x.status === 'live')) {
        say(`  ${s.id} (${s.config.modality}, live): ${participantUrl(base, s.id)}`);
        // A preview run (no Latin-square slot, not counted): every opening starts a fresh one.
        say(`    try it (a preview, not counted): ${base}${server.sessions.tryItPath(s.id)}`);
      }
      const stop = () => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
