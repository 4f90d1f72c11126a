/**
 * The CLI runs as JavaScript that esbuild bundles from cli/main.ts into dist/cli/ (~0.3 s), so no
 * TypeScript is compiled at start-up. The build must never be older than the sources: engineers and
 * tests edit TypeScript and run `bin/metamer.js` straight after. So every start compares the
 * modification times of the files the build was made from (esbuild's metafile lists them) with the
 * time the build began, and rebuilds first when any is newer or gone (about 2 ms for ~200 stats;
 * a new file only matters once an existing one imports it, and that edit is seen). `npm ci`
 * builds once through the `prepare` script; vitest's global set-up rebuilds before the tests, so
 * the processes the tests spawn never race to rebuild.
 *
 * Every output file is named by its content hash and written atomically (temporary file, then
 * rename), and `build.json`, which names the entry, is written last: a process that starts
 * during a rebuild by another runs either the old build or the new one, never a mixture.
 *
 * Plain JavaScript on purpose: it runs before anything is compiled.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = path.join(ROOT, 'dist/cli');
const STAMP = path.join(OUT_DIR, 'build.json');
/** Files of earlier builds are removed once this old: a running server may still import a lazy chunk of its own build. */
const KEEP_OLD_MS = 60 * 60 * 1000;

/**
 * @typedef {{ entry: string, startedAt: number, inputs: string[], files: string[] }} Stamp
 */

/** @returns {Stamp | null} the current build, when every input is older than the build. */
export function freshBuild() {
  /** @type {Stamp} */
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    return null;
  }
  for (const rel of stamp.inputs) {
    let mtime;
    try {
      mtime = fs.statSync(path.join(ROOT, rel)).mtimeMs;
    } catch {
      return null;
    }
    if (mtime >= stamp.startedAt) return null;
  }
  return fs.existsSync(path.join(OUT_DIR, stamp.entry)) ? stamp : null;
}

/**
 * Source files refer to their own place with import.meta (the demo studies' folder, the experiment's
 * sources for the page bundle); in the bundle they keep pointing at the sources, not at dist/.
 * @type {import('esbuild').Plugin}
 */
const sourceLocations = {
  name: 'source-locations',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      if (!text.includes('import.meta.')) return undefined;
      return {
        loader: 'ts',
        contents: text
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)))
          .replaceAll('import.meta.filename', JSON.stringify(args.path)),
      };
    });
  },
};

/** zod is imported by every command that reads a config or the database (~100 files as installed). */
const BUNDLED = new Set(['zod']);

/** @type {import('esbuild').Plugin} */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      return BUNDLED.has(name) || args.path.startsWith('node:') ? undefined : { path: args.path, external: true };
    });
  },
};

function writeAtomically(file, contents) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

/** Bundles the CLI into dist/cli/ and returns the new build's stamp. */
export async function buildCli() {
  const esbuild = await import('esbuild');
  // Taken before esbuild reads a source: an edit made during the build makes it stale.
  const startedAt = Date.now();
  const result = await esbuild.build({
    entryPoints: { main: path.join(ROOT, 'cli/main.ts') },
    absWorkingDir: ROOT,
    bundle: true,
    // One chunk per command module (cli/commands/index.ts imports each lazily) and shared chunks.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Packages are loaded by Node as installed (native addons, workers, files read at run time),
    // except the pure-ESM ones in BUNDLED whose many small modules cost start-up time to resolve.
    plugins: [sourceLocations, externalPackages],
    outdir: OUT_DIR,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunks/[name]-[hash]',
    // Stack traces of internal errors name the TypeScript sources where bin/metamer.js enables source
    // maps (the server always; other commands with METAMER_SOURCE_MAPS=1).
    sourcemap: 'linked',
    sourcesContent: false,
    // Less to read and parse at every start (the source map keeps stack traces readable).
    minify: true,
    // Error classes and functions keep their names (messages and stack traces use them).
    keepNames: true,
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const files = result.outputFiles.map((f) => path.relative(OUT_DIR, f.path));
  for (const f of result.outputFiles) {
    if (!fs.existsSync(f.path)) writeAtomically(f.path, f.contents);
  }
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === 'cli/main.ts')?.[0];
  if (!entry) throw new Error('esbuild produced no entry for cli/main.ts');
  const inputs = [...Object.keys(result.metafile.inputs), 'bin/cli-build.js'];
  /** @type {Stamp} */
  const stamp = { entry: path.relative(OUT_DIR, path.join(ROOT, entry)), startedAt, inputs, files };
  writeAtomically(STAMP, JSON.stringify(stamp));
  removeOldFiles(new Set([...files, 'build.json']));
  return stamp;
}

function removeOldFiles(keep) {
  const now = Date.now();
  for (const rel of fs.readdirSync(OUT_DIR, { recursive: true })) {
    const file = path.join(OUT_DIR, String(rel));
    if (keep.has(String(rel))) continue;
    try {
      const st = fs.statSync(file);
      if (st.isFile() && now - st.mtimeMs > KEEP_OLD_MS) fs.rmSync(file);
    } catch {
      // removed by a concurrent build
    }
  }
}

/** The URL of the CLI's entry module, rebuilt first when the sources changed since the build. */
export async function cliEntryUrl() {
  const stamp = freshBuild() ?? (await buildCli());
  return pathToFileURL(path.join(OUT_DIR, stamp.entry)).href;
}

// `node bin/cli-build.js`: npm's `prepare` (after `npm ci`) and `npm run build`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  const stamp = await buildCli();
  process.stdout.write(`CLI built into dist/cli/ from ${stamp.inputs.length} files in ${Math.round(performance.now() - t0)} ms\n`);
}
