/**
 * The CLI starts fast because it runs compiled and loads only the command being run
 * (cli/commands/index.ts), and it never runs a build older than the sources (bin/cli-build.js).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { freshBuild } from '../../bin/cli-build.js';
import { COMMANDS } from '../../cli/commands/index.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/metamer.js');

/** A resolve hook that appends every module Node resolves to the file in MODULE_TRACE. */
const TRACE_HOOK = `import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  fs.appendFileSync(process.env.MODULE_TRACE, r.url + '\\n');
  return r;
}`;

/** The packages (under node_modules) a CLI invocation loads. */
async function packagesLoaded(args: string[]): Promise<Set<string>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-trace-'));
  const trace = path.join(dir, 'modules.txt');
  const register = path.join(dir, 'register.mjs');
  fs.writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(TRACE_HOOK)}`)});\n`,
  );
  try {
    await run(process.execPath, ['--import', register, BIN, ...args], { cwd: ROOT, env: { ...process.env, MODULE_TRACE: trace } });
    const urls = fs.readFileSync(trace, 'utf8').split('\n');
    return new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('start-up', () => {
  it('`metamer analyze --help` loads neither esbuild nor vega nor vega-lite (the server, which bundles pages with esbuild, does)', async () => {
    const analyze = await packagesLoaded(['analyze', '--help']);
    expect(analyze.has('commander')).toBe(true);
    for (const heavy of ['esbuild', 'vega', 'vega-lite', 'express']) expect(analyze.has(heavy), heavy).toBe(false);
    // The same trace does see them where they are loaded: the check above can fail.
    expect((await packagesLoaded(['serve', '--help'])).has('esbuild')).toBe(true);
  });

  it('`metamer --help` loads no command module, and lists each command with its own description', async () => {
    const loaded = await packagesLoaded(['--help']);
    expect([...loaded]).toEqual(['commander']);
    for (const entry of COMMANDS) {
      const program = new Command('metamer');
      (await entry.load()).register(program);
      const registered = program.commands.find((c) => c.name() === entry.name);
      expect(registered?.description(), entry.name).toBe(entry.summary);
    }
  });
});

describe('the compiled CLI', () => {
  it('is rebuilt before it runs when a source is newer than the build', async () => {
    const source = path.join(ROOT, 'cli/commands/schemas.ts');
    // "Edited" now: same content, so other tests running the CLI at the same time are unaffected.
    const now = new Date();
    fs.utimesSync(source, now, now);
    expect(freshBuild()).toBeNull();
    const { stdout } = await run(process.execPath, [BIN, 'schemas', '--help'], { cwd: ROOT });
    expect(stdout).toContain('write JSON Schemas');
    const stamp = freshBuild();
    expect(stamp).not.toBeNull();
    expect(stamp!.inputs).toContain('cli/commands/schemas.ts');
    expect(stamp!.startedAt).toBeGreaterThan(now.getTime());
  });
});
