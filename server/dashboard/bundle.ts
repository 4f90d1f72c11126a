/**
 * The dashboard's script and style, served from /admin/assets/ (see experiment-bundle.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPageBundle, type PageBundle } from '../experiment-bundle.ts';

export type DashboardBundle = PageBundle;

const HERE = path.dirname(fileURLToPath(import.meta.url));

export function buildDashboardBundle(): Promise<DashboardBundle> {
  return buildPageBundle('dashboard', path.join(HERE, 'client/dashboard.ts'), path.join(HERE, 'client/dashboard.css'));
}
