/**
 * The pages' scripts and styles (the participant page, the dashboard), bundled by esbuild when the
 * server starts (a fraction of a second) and served from memory under content-hashed names, so a new version is never mixed
 * with a cached old one and the files may be cached forever.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import type { RequestHandler } from 'express';

export interface BundledAsset {
  name: string;
  body: Buffer;
  /** Compressed once at build: the script is ~135 KB as is, ~40 KB gzipped. */
  gzip: Buffer;
  mime: string;
}

export interface PageBundle {
  js: BundledAsset;
  css: BundledAsset;
}

export type ExperimentBundle = PageBundle;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function asset(base: string, ext: string, mime: string, text: Uint8Array): BundledAsset {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const body = Buffer.from(text);
  return { name: `${base}.${hash}.${ext}`, body, gzip: zlib.gzipSync(body, { level: 9 }), mime };
}

/** Serves a page's assets by name: cached forever (the name carries the hash), gzipped if accepted. */
export function pageAssetHandler(bundle: PageBundle): RequestHandler {
  return (req, res) => {
    const a = [bundle.js, bundle.css].find((x) => x.name === req.params.name);
    if (!a) return void res.status(404).type('text').send('Not Found\n');
    res.set('Cache-Control', 'public, max-age=31536000, immutable').set('Vary', 'Accept-Encoding').type(a.mime);
    if (req.acceptsEncodings('gzip') === 'gzip') res.set('Content-Encoding', 'gzip').send(a.gzip);
    else res.send(a.body);
  };
}

/**
 * jsPsych's stylesheet embeds the Open Sans font files as data: URLs (~470 KB, most of the page's
 * weight). The CSP does not allow data: fonts anyway, so the @font-face rules are dropped and the
 * text falls back to the system sans-serif.
 */
const withoutEmbeddedFonts: esbuild.Plugin = {
  name: 'without-embedded-fonts',
  setup(build) {
    build.onLoad({ filter: /jspsych[\\/]css[\\/]jspsych\.css$/ }, async (args) => {
      const css = await fs.readFile(args.path, 'utf8');
      return { contents: css.replace(/@font-face\s*\{[^}]*\}/g, ''), loader: 'css' };
    });
  },
};

/** Bundles one page's script and stylesheet (same-origin files: the CSP allows nothing inline). */
export async function buildPageBundle(name: string, script: string, style: string): Promise<PageBundle> {
  const result = await esbuild.build({
    entryPoints: { [name]: script, [`${name}-style`]: style },
    bundle: true,
    minify: true,
    format: 'iife',
    // Browsers Prolific participants use: the last few years of Chrome, Firefox, Safari, Edge.
    target: 'es2020',
    write: false,
    outdir: '/bundle',
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [withoutEmbeddedFonts],
  });
  const find = (ext: string) => {
    const f = result.outputFiles.find((o) => o.path.endsWith(ext));
    if (!f) throw new Error(`esbuild produced no ${ext} output for ${name}`);
    return f.contents;
  };
  return {
    js: asset(name, 'js', 'text/javascript; charset=utf-8', find('.js')),
    css: asset(name, 'css', 'text/css; charset=utf-8', find('.css')),
  };
}

export function buildExperimentBundle(): Promise<ExperimentBundle> {
  return buildPageBundle('experiment', path.join(ROOT, 'experiment/main.ts'), path.join(ROOT, 'experiment/style.css'));
}
