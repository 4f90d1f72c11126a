/**
 * Beyond one machine: stimuli exported with `metamer stimuli export-static`, served by nginx on
 * another origin with the server block the command writes, and a participant in Chromium who does
 * the whole study loading every stimulus from there.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxServerBlock } from '../../stimuli/static-export.ts';
import { HEADPHONE_TESTS, headphoneKit } from '../../server/headphone-stimuli.ts';
import { loadStimulusKey, STIMULUS_KEY_FILE_NAME, StimulusKeys } from '../../server/stimulus-keys.ts';
import { startNginx } from '../support/nginx.ts';
import { launchChromium, newParticipantContext, type TestBrowser } from '../support/browser.ts';
import { driveParticipant } from '../support/participant-driver.ts';
import { freePort, spawnServer, type ServerProcess } from '../support/server-process.ts';
import { COMPLETION_CODE, startTestServer, type TestServer, pidOf } from '../support/test-server.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/metamer.js');

describe('stimuli from a static host on another origin', () => {
  let setup: TestServer;
  let chromium: TestBrowser;
  let server: ServerProcess | undefined;
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;

  beforeAll(async () => {
    setup = await startTestServer();
    await setup.close();
    await fs.chmod(setup.dir, 0o755);
    chromium = await launchChromium();
  });
  afterAll(async () => {
    if (server) await server.kill();
    nginx?.kill('SIGTERM');
    await chromium?.close();
    await setup?.dispose();
  });

  it('export-static writes every servable file under its keyed name, and a participant completes loading them from nginx', async () => {
    const out = path.join(setup.dir, 'static');
    const printed = execFileSync(process.execPath, [BIN, '--db', setup.dbFile, 'stimuli', 'export-static', out, '--json'], {
      encoding: 'utf8',
    });
    const result = JSON.parse(printed) as { files: number };
    const db = new Database(setup.dbFile, { readonly: true });
    const blobs = db.prepare('SELECT sha256, ext FROM blobs').all() as { sha256: string; ext: string }[];
    db.close();
    expect(result.files).toBe(blobs.length);
    // Under the names the server gives participants (the deployment's key, beside the database), never the content hash.
    const keys = new StimulusKeys(loadStimulusKey(path.join(path.dirname(setup.dbFile), STIMULUS_KEY_FILE_NAME)));
    const { createHash } = await import('node:crypto');
    for (const b of blobs) {
      const bytes = await fs.readFile(path.join(out, 'stimuli', keys.publicName(`${b.sha256}.${b.ext}`)));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(b.sha256);
      await expect(fs.access(path.join(out, 'stimuli', `${b.sha256}.${b.ext}`))).rejects.toThrow();
    }
    expect(await fs.readFile(path.join(out, 'nginx.conf'), 'utf8')).toBe(nginxServerBlock(path.resolve(out)));
    // The headphone checks' volume-setting sounds go too, though no session has needed them yet
    // (their trial sounds are made per session by the server itself).
    for (const test of HEADPHONE_TESTS) await fs.access(path.join(out, 'stimuli', keys.publicName(headphoneKit(test).calibration.file)));

    const cdnPort = await freePort();
    nginx = await startNginx(setup.dir, nginxServerBlock(path.resolve(out)), cdnPort);
    const cdn = `http://127.0.0.1:${cdnPort}/stimuli/`;
    const probe = await fetch(`${cdn}${keys.publicName(`${blobs[0]!.sha256}.${blobs[0]!.ext}`)}`);
    expect(probe.headers.get('access-control-allow-origin')).toBe('*');
    expect(probe.headers.get('cache-control')).toContain('immutable');

    const port = await freePort();
    server = await spawnServer(setup.dbFile, port, { METAMER_STIMULUS_BASE_URL: cdn });
    const pid = pidOf('static0host000000000001');
    const context = await newParticipantContext(chromium.browser);
    const page = await context.newPage();
    const stimulusHosts = new Set<string>();
    page.on('request', (r) => {
      if (/[0-9a-f]{64}\.(png|wav)$/.test(r.url())) stimulusHosts.add(new URL(r.url()).host);
    });
    await page.goto(`${server.url}/run/fixture-study?PROLIFIC_PID=${pid}`);
    const result2 = await driveParticipant(page, {
      plan: async () => {
        const d = new Database(setup.dbFile, { readonly: true });
        const row = d
          .prepare('SELECT p.plan FROM sessions s JOIN session_plans p ON p.session_id = s.id WHERE s.prolific_pid = ?')
          .get(pid) as { plan: string };
        d.close();
        return JSON.parse(row.plan).trials;
      },
    });
    expect(result2.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    expect([...stimulusHosts]).toEqual([`127.0.0.1:${cdnPort}`]);
    await context.close();
  }, 180_000);
});
