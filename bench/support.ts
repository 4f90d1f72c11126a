/**
 * Shared pieces of the benchmarks: temp folders, child processes (the server, nginx), tools.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
export { freePort } from '../test/support/server-process.ts';
export { startNginx } from '../test/support/nginx.ts';
export { median } from '../analysis/descriptive.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A bench page's script, with the participant page's esbuild settings (server/experiment-bundle.ts). */
export async function bundleBenchPage(entry: string): Promise<Buffer> {
  const r = await esbuild.build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return Buffer.from(r.outputFiles[0]!.contents);
}

export interface LocalServer {
  /** http://127.0.0.1:<port>, no trailing slash. */
  url: string;
  close(): Promise<void>;
}

/** Listens on a free port of 127.0.0.1; `close` also ends kept-alive connections. */
export async function listenOnLoopback(server: http.Server): Promise<LocalServer> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export function requireTool(name: string, install: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is needed for this benchmark: ${install}`);
  }
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `metamer-bench-${prefix}-`));
  // nginx's workers run as an unprivileged user: they must be able to read what is served.
  await fs.chmod(dir, 0o755);
  return dir;
}

export async function waitForHttp(url: string, child?: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${url} answered`);
    try {
      await fetch(url);
      return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function startProcess(cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.on('exit', (code) => {
    if (code) process.stderr.write(`${cmd} exited with ${code}: ${err}\n`);
  });
  return child;
}

/** A baseline server written in TypeScript under bench/ (run through tsx, as the benches are). */
export function startBenchScript(script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return startProcess(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', script), ...args], env);
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
}
