/**
 * The smaller holes of issue 11, each against the real thing: practice feedback only in the
 * acknowledgement of the stored response; a stimulus file whose bytes no longer match its hash;
 * images whose header claims more than the import takes; upgrade-insecure-requests over https
 * only; exit URLs in the clear; short key files; /healthz on a database that takes no write; a
 * client that goes away mid-request.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../experiment/contract.ts';
import { startServer } from '../../server/app.ts';
import { StudyConfig } from '../../server/study-config.ts';
import { MAX_IMAGE_SIDE } from '../../stimuli/media-headers.ts';
import { readStimulusFile } from '../../stimuli/stimulus-file.ts';
import { useTempDirs } from '../fixtures/temp-dir.ts';
import { backdateSession, pidOf, postJson, startTestServer, testStore, type TestServer } from '../support/test-server.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/metamer.js');
const tempDir = useTempDirs();

/** Log lines the server writes, parsed. */
const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
const sink = { write: (l: string) => void lines.push(JSON.parse(l)) };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ logger: pino({ level: 'debug' }, sink) });
});
afterAll(async () => {
  await server?.dispose();
});

async function start(label: string): Promise<SessionView> {
  const r = await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: pidOf(label) });
  expect(r.status).toBe(200);
  await backdateSession(server, r.body.session);
  return r.body;
}

describe('practice feedback', () => {
  it('comes only in the acknowledgement of the stored practice response, and again for a repeat of it', async () => {
    const view = await start('feedback');
    const plan = (await server.store.getSession(view.session))!.plan.trials;
    const practice = plan.filter((t) => t.phase === 'practice');
    const wrong = view.choices.find((c) => c !== practice[0]!.category)!;
    const url = `${server.url}/api/sessions/${view.session}/trials`;
    const first = await postJson(url, { trial_index: practice[0]!.index, response: wrong, rt_ms: 700 });
    expect(first.body).toEqual({ stored: 'created', feedback: { correct: false, answer: practice[0]!.category } });
    expect((await postJson(url, { trial_index: practice[0]!.index, response: wrong, rt_ms: 700 })).body).toEqual({
      stored: 'duplicate',
      feedback: { correct: false, answer: practice[0]!.category },
    });
    // A different record for the stored trial is refused, and tells nothing.
    const conflict = await postJson(url, { trial_index: practice[0]!.index, response: practice[0]!.category, rt_ms: 700 });
    expect(conflict.status).toBe(409);
    expect(JSON.stringify(conflict.body)).not.toContain('feedback');
    expect((await postJson(url, { trial_index: practice[1]!.index, response: practice[1]!.category, rt_ms: 700 })).body.feedback).toEqual({
      correct: true,
      answer: practice[1]!.category,
    });
    // Any other trial's acknowledgement is the bare one: the same bytes whether right or wrong.
    const screening = plan.find((t) => t.phase === 'screening')!;
    const other = plan.filter((t) => t.phase === 'screening')[1]!;
    const right = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ trial_index: screening.index, response: screening.category, rt_ms: 1 }),
    });
    const wrongReply = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ trial_index: other.index, response: view.choices.find((c) => c !== other.category)!, rt_ms: 1 }),
    });
    expect(await right.text()).toBe(await wrongReply.text());
    expect([...right.headers.keys()].sort()).toEqual([...wrongReply.headers.keys()].sort());
  });
});

describe('stimulus files', () => {
  it('a file whose bytes no longer match its hash is never served, is logged, and is not cached', async () => {
    const view = await start('corrupt');
    const plan = (await server.store.getSession(view.session))!.plan.trials;
    // A stimulus nobody has fetched yet (the cache has not seen it).
    const t = plan[plan.length - 1]!;
    const file = path.join(server.blobDir, t.file.slice(0, 2), t.file);
    const good = await fs.readFile(file);
    const damaged = Buffer.from(good);
    damaged[damaged.length >> 1] = damaged[damaged.length >> 1]! ^ 0xff;
    await fs.writeFile(file, damaged);
    const url = server.url + view.trials[t.index]!.stimulus;
    const r = await fetch(url);
    expect(r.status).toBe(500);
    expect(await r.text()).not.toContain(t.file.slice(0, 64));
    expect(lines.some((l) => l.level === 50 && l.msg.startsWith('stimulus file does not match its hash') && l.file === file)).toBe(true);
    // Still not served on a second request (nothing corrupt was cached), and served once repaired.
    expect((await fetch(url)).status).toBe(500);
    await fs.writeFile(file, good);
    const fixed = await fetch(url);
    expect(fixed.status).toBe(200);
    expect(Buffer.from(await fixed.arrayBuffer()).equals(good)).toBe(true);
  });
});

/** A PNG of `bytes` of IDAT data that claims width × height RGB pixels (CRCs right, data not). */
function claimingPng(width: number, height: number, idat: Buffer = deflateSync(Buffer.alloc(1))): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('importing images', () => {
  it('refuses a header claiming more than the limit, and pixel data that does not decode, with one line naming file and field', async () => {
    const dir = await tempDir();
    const huge = claimingPng(100_000, 100_000);
    // Tens of bytes (the issue's reproducer was 71) claiming ten billion pixels.
    expect(huge.length).toBeLessThan(80);
    const cases: [Buffer, RegExp][] = [
      [huge, new RegExp(`100000×100000 px is over the limit of ${MAX_IMAGE_SIDE} px`)],
      [claimingPng(20_000, 20_000), /20000×20000 px is over the limit/],
      [claimingPng(4000, 4000), /pixel data does not decode to 4000×4000 px/],
      [claimingPng(2, 2, Buffer.from('not zlib at all')), /pixel data does not decode to 2×2 px \(not a valid zlib stream\)/],
    ];
    for (const [i, [bytes, message]] of cases.entries()) {
      const file = path.join(dir, `claims-${i}.png`);
      await fs.writeFile(file, bytes);
      await expect(readStimulusFile(file, 'png')).rejects.toThrow(message);
    }
    // The whole path: `metamer stimuli import` exits 1 with one line per problem, no stack, no crash.
    const set = path.join(dir, 'set');
    for (const [where, bytes] of [
      ['natural/bear/a.png', huge],
      ['natural/car/b.png', claimingPng(20_000, 20_000)],
      ['practice/bear/p.png', claimingPng(2, 2)],
    ] as const) {
      await fs.mkdir(path.dirname(path.join(set, where)), { recursive: true });
      await fs.writeFile(path.join(set, where), bytes);
    }
    const run = await promisify(execFile)(
      process.execPath,
      [BIN, '--db', path.join(dir, 'db', 'm.db'), 'stimuli', 'import', set, '--name', 'claims'],
      {
        env: { ...process.env, METAMER_DB: '' },
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/natural\/bear\/a\.png.*width.*100000×100000 px is over the limit/);
    expect(run.stderr).toMatch(/natural\/car\/b\.png.*20000×20000 px is over the limit/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('headers', () => {
  it('upgrade-insecure-requests only for a page served over https', async () => {
    const plain = await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${pidOf('csp-http')}`);
    expect(plain.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
    const saved = process.env.METAMER_TRUST_PROXY;
    process.env.METAMER_TRUST_PROXY = 'loopback';
    const proxied = await startTestServer();
    try {
      const https = await fetch(`${proxied.url}/run/fixture-study?PROLIFIC_PID=${pidOf('csp-https')}`, {
        headers: { 'X-Forwarded-Proto': 'https' },
      });
      expect(https.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
      const http = await fetch(`${proxied.url}/run/fixture-study?PROLIFIC_PID=${pidOf('csp-https')}`, {
        headers: { 'X-Forwarded-Proto': 'http' },
      });
      expect(http.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
    } finally {
      await proxied.dispose();
      if (saved === undefined) delete process.env.METAMER_TRUST_PROXY;
      else process.env.METAMER_TRUST_PROXY = saved;
    }
  });
});

describe('exit URLs', () => {
  const base = { id: 's', stimulus_set: 'set', modality: 'image', target_completed: 1 } as const;
  const config = (complete_url: string) =>
    StudyConfig.safeParse({ ...base, prolific: { completion_code: 'C', screenout_code: 'S', complete_url } });
  it('must be https; plain http only to loopback', () => {
    for (const ok of [
      'https://app.prolific.com/submissions/complete',
      'https://example.org/done',
      'http://localhost:9000/done',
      'http://127.0.0.1/done',
      'http://[::1]:8080/x',
    ]) {
      expect(config(ok).success, ok).toBe(true);
    }
    for (const bad of [
      'http://example.org/done',
      'http://192.168.1.5/done',
      'http://localhost.example.org/done',
      'ftp://example.org/',
      'javascript:alert(1)',
    ]) {
      const r = config(bad);
      expect(r.success, bad).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(['prolific', 'complete_url']);
    }
    expect(config('http://example.org/done').error!.issues[0]!.message).toContain('https://');
  });
});

describe('keys', () => {
  it('an empty or short key file is refused at start, like a short METAMER_PARTICIPANT_KEY', async () => {
    const dir = await tempDir();
    const opts = (keyFile: string) => ({
      dbFile: path.join(dir, 'm.db'),
      blobDir: path.join(dir, 'blobs'),
      participantKeyFile: keyFile,
      port: 0,
      host: '127.0.0.1',
      logger: pino({ level: 'silent' }),
    });
    for (const [name, bytes] of [
      ['empty.key', Buffer.alloc(0)],
      ['short.key', Buffer.from('0123456789')],
    ] as const) {
      await fs.writeFile(path.join(dir, name), bytes);
      await expect(startServer(opts(path.join(dir, name)))).rejects.toThrow(
        new RegExp(`${name}: the key file holds ${bytes.length} bytes; it needs at least 32`),
      );
    }
    await fs.writeFile(path.join(dir, 'stimulus-url.key'), Buffer.alloc(3));
    await expect(startServer(opts(path.join(dir, 'fine.key')))).rejects.toThrow(/stimulus-url\.key: the key file holds 3 bytes/);
    await fs.rm(path.join(dir, 'stimulus-url.key'));
    process.env.METAMER_STIMULUS_KEY = 'too short';
    try {
      await expect(startServer(opts(path.join(dir, 'fine.key')))).rejects.toThrow(/METAMER_STIMULUS_KEY must be at least 32 characters/);
    } finally {
      delete process.env.METAMER_STIMULUS_KEY;
    }
  });
});

describe('/healthz', () => {
  it('is 503 while the database takes no write, and 200 again after', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const other = await server.openDb();
    try {
      // Another process holding the write lock (a long CLI import, a stuck backup); on PostgreSQL,
      // the lock of the row the check writes.
      if (testStore() === 'sqlite') await other.run('BEGIN IMMEDIATE');
      else {
        await other.run('BEGIN');
        await other.run('SELECT 1 FROM health_checks WHERE id = 1 FOR UPDATE');
      }
      const r = await fetch(`${server.url}/healthz`);
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ ok: false, code: 'db_unwritable' });
      await other.run('ROLLBACK');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('a client that goes away mid-request', () => {
  it('is logged at debug level, not as an error with a stack', async () => {
    const view = await start('aborter');
    const before = lines.length;
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(
      `POST /api/sessions/${view.session}/trials HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"trial_index":`,
    );
    // Wait until the server has the partial body, then vanish.
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    const deadline = Date.now() + 5000;
    while (!lines.slice(before).some((l) => l.msg.includes('client aborted'))) {
      if (Date.now() > deadline) throw new Error(`no debug line; got ${JSON.stringify(lines.slice(before))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const logged = lines.slice(before);
    expect(logged.find((l) => l.msg.includes('client aborted'))!.level).toBe(20);
    expect(logged.filter((l) => l.level >= 50)).toEqual([]);
    expect(JSON.stringify(logged)).not.toContain(view.session);
  });
});
