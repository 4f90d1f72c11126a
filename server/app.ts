/**
 * The server: a bare node:http listener that sends stimulus files down a fast path and everything
 * else through Express (participant page and API; admin routes are added by their own router).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type Router } from 'express';
import helmet from 'helmet';
import pino, { type Logger } from 'pino';
import { BlobStore } from '../stimuli/blob-store.ts';
import { buildExperimentBundle, type ExperimentBundle, pageAssetHandler } from './experiment-bundle.ts';
import { errorHandler } from './error-handler.ts';
import { HeadphoneStimuli } from './headphone-stimuli.ts';
import { messagePage } from './pages.ts';
import { serveFavicon } from './favicon.ts';
import { checkSharedParticipantKey, loadParticipantKey } from './participant-id.ts';
import { ParticipantSessions } from './participant-sessions.ts';
import { ASSET_PREFIX, participantRouter } from './routes/participant.ts';
import { STIMULUS_PREFIX, stimulusFileServer } from './stimulus-files.ts';
import { handleTrialPost, trialPostSession } from './trial-route.ts';
import { databaseFor, openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { type AdminServer, setUpAdmin } from './admin-server.ts';
import { adminTokenFileFor } from './admin-token.ts';
import { trustProxySetting } from './proxy-trust.ts';
import { sessionStartLimit } from './rate-limits.ts';
import { loadStimulusKey, STIMULUS_KEY_FILE_NAME, StimulusKeys } from './stimulus-keys.ts';
import { prolificWebhookRouter } from './prolific/webhook-route.ts';

export interface ServerOptions {
  /** The SQLite file; the data folder (blobs, keys) is beside it whatever the database. */
  dbFile: string;
  /** A `postgres://` URL to use instead of the file (default: METAMER_DATABASE_URL, if set). */
  databaseUrl?: string;
  blobDir: string;
  participantKeyFile: string;
  /** The key of stimulus URLs (default: `stimulus-url.key` beside the database; stimulus-keys.ts). */
  stimulusKeyFile?: string;
  port: number;
  host: string;
  /** Where browsers fetch stimuli from; default this server's `/stimuli/`. */
  stimulusBaseUrl?: string;
  logger?: Logger;
  /** The admin token file (default: `admin-token` beside the database). */
  adminTokenFile?: string;
  /** How often idle sessions are looked for (default 1 min). */
  abandonSweepMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  sessions: ParticipantSessions;
  /** The keys of the stimulus names participants see (stimulus-keys.ts). */
  stimulusKeys: StimulusKeys;
  bundle: ExperimentBundle;
  /** The experimenter's side: token, log-ins, dashboard routers, abandonment sweeper. */
  admin: AdminServer;
  close(): Promise<void>;
}

export function createApp(deps: {
  store: Store;
  sessions: ParticipantSessions;
  bundle: ExperimentBundle;
  logger: Logger;
  stimulusOrigin?: string;
  admin?: Router;
}) {
  const { store, sessions, bundle, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxySetting());
  const extra = deps.stimulusOrigin ? [deps.stimulusOrigin] : [];
  // upgrade-insecure-requests only for a page that came over https (directly, or through a trusted
  // proxy that says so): on a plain-http LAN deployment it would turn the page's own script and
  // API calls into https requests that nothing answers.
  const headers = (https: boolean) =>
    helmet({
      contentSecurityPolicy: {
        directives: {
          'upgrade-insecure-requests': https ? [] : null,
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          // jsPsych's plugins write style attributes into their markup; no inline <style> or script.
          'style-src-attr': ["'unsafe-inline'"],
          'img-src': ["'self'", 'data:', 'blob:', ...extra],
          'media-src': ["'self'", 'blob:', ...extra],
          'connect-src': ["'self'", ...extra],
          'frame-ancestors': ["'none'"],
          'form-action': ["'self'"],
        },
      },
      // The page sends participants on to app.prolific.com; it must not leak the study URL's query.
      referrerPolicy: { policy: 'no-referrer' },
    });
  const overHttps = headers(true);
  const overHttp = headers(false);
  app.use((req, res, next) => (req.secure ? overHttps : overHttp)(req, res, next));
  app.use(prolificWebhookRouter({ store, logger })); // before the JSON parser: its signature covers the raw body
  // sendBeacon posts text/plain (a CORS-safelisted type), so both are parsed as JSON.
  app.use('/api', express.json({ limit: '16kb', type: ['application/json', 'text/plain'] }));
  app.post('/api/studies/:studyId/sessions', sessionStartLimit());

  app.get(`${ASSET_PREFIX}:name`, pageAssetHandler(bundle));
  // Up means able to store a trial: a database that takes no write (locked, read-only, disk full) is 503.
  app.get('/healthz', async (_req, res) => {
    try {
      await store.checkWritable();
      res.json({ ok: true });
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'health check: the database cannot be written');
      res.status(503).json({ ok: false, error: 'the database cannot be written', code: 'db_unwritable' });
    }
  });
  // Nothing lives at the root: an experimenter opening the server's address wants the dashboard.
  app.get('/', (_req, res) => void res.redirect(302, '/admin'));
  serveFavicon(app);
  app.use(participantRouter(store, sessions, bundle));
  if (deps.admin) app.use(deps.admin);

  app.use('/api', (_req, res) => void res.status(404).json({ error: 'no such API route', code: 'not_found' }));
  app.use(
    (_req, res) =>
      void res
        .status(404)
        .type('html')
        .send(messagePage(bundle, ASSET_PREFIX, 'Page not found', 'There is nothing at this address.')),
  );

  app.use(
    errorHandler({
      logger,
      html: (_req, p) => messagePage(bundle, ASSET_PREFIX, p.heading, p.status >= 500 ? 'Please reload the page in a moment.' : p.message),
    }),
  );
  return app;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  // Keys first: a bad one is refused before any database is opened.
  const participantKey = loadParticipantKey(opts.participantKeyFile);
  const stimulusKeys = new StimulusKeys(
    loadStimulusKey(opts.stimulusKeyFile ?? path.join(path.dirname(path.resolve(opts.dbFile)), STIMULUS_KEY_FILE_NAME)),
  );
  const store = await openStore(opts.databaseUrl ?? databaseFor(opts.dbFile), {
    serving: { onWarning: (message) => logger.warn({ message }, 'WAL checkpoint failed') },
  });
  const stimulusBaseUrl = opts.stimulusBaseUrl ?? STIMULUS_PREFIX;
  await checkSharedParticipantKey(store, participantKey).catch(async (e: unknown) => {
    await store.close();
    throw e;
  });
  const sessions = new ParticipantSessions(store, {
    participantKey,
    stimulusBaseUrl,
    stimulusKeys,
    headphoneStimuli: new HeadphoneStimuli(new BlobStore(opts.blobDir), store),
  });
  const bundle = await buildExperimentBundle();
  const admin = await setUpAdmin({
    store,
    sessions,
    tokenFile: opts.adminTokenFile ?? adminTokenFileFor(opts.dbFile),
    logger,
    sweepIntervalMs: opts.abandonSweepMs,
  });
  const stimulusOrigin = /^https?:\/\//.test(stimulusBaseUrl) ? new URL(stimulusBaseUrl).origin : undefined;
  const app = createApp({ store, sessions, bundle, logger, stimulusOrigin, admin: admin.router });
  const files = stimulusFileServer(new BlobStore(opts.blobDir), { keys: stimulusKeys, logger });

  const server = http.createServer((req, res) => {
    if (req.url?.startsWith(STIMULUS_PREFIX)) {
      files.handle(req, res).catch((err: unknown) => {
        logger.error({ err }, 'stimulus serving failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    const trialSession = trialPostSession(req);
    if (trialSession) return void handleTrialPost(req, res, trialSession, sessions, logger);
    app(req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    store,
    sessions,
    stimulusKeys,
    bundle,
    admin,
    async close() {
      await admin.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}
