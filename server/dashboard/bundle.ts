/**
 * The dashboard's script and style, bundled by esbuild at server start like the participant page
 * (experiment-bundle.ts) and served from memory under content-hashed names from /admin/assets/.
 * Same-origin files only: the Helmet CSP allows no inline script or style element.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { BundledAsset } from '../experiment-bundle.ts';

export interface DashboardBundle {
  js: BundledAsset;
  css: BundledAsset;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

function asset(base: string, ext: string, mime: string, text: Uint8Array): BundledAsset {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  return { name: `${base}.${hash}.${ext}`, body: Buffer.from(text), mime };
}

export async function buildDashboardBundle(): Promise<DashboardBundle> {
  const result = await esbuild.build({
    entryPoints: {
      dashboard: path.join(HERE, 'client/dashboard.ts'),
      'dashboard-style': path.join(HERE, 'client/dashboard.css'),
    },
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    write: false,
    outdir: '/bundle',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const find = (ext: string) => {
    const f = result.outputFiles.find((o) => o.path.endsWith(ext));
    if (!f) throw new Error(`esbuild produced no ${ext} output for the dashboard`);
    return f.contents;
  };
  return {
    js: asset('dashboard', 'js', 'text/javascript; charset=utf-8', find('.js')),
    css: asset('dashboard', 'css', 'text/css; charset=utf-8', find('.css')),
  };
}
