/**
 * The site icon for participant pages and the dashboard: a small SVG (three bars of falling
 * height, a recognizability-by-layer figure in miniature), neutral enough for a participant's tab.
 * Browsers that ask for /favicon.ico by habit get the same SVG.
 */
import type { Express } from 'express';

export const FAVICON_PATH = '/favicon.svg';

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="6" fill="#1f5fbf"/>
<rect x="6" y="8" width="5" height="18" rx="1" fill="#fff"/>
<rect x="13.5" y="13" width="5" height="13" rx="1" fill="#fff" opacity="0.85"/>
<rect x="21" y="18" width="5" height="8" rx="1" fill="#fff" opacity="0.7"/>
</svg>
`;

export function serveFavicon(app: Express): void {
  for (const path of [FAVICON_PATH, '/favicon.ico']) {
    app.get(path, (_req, res) => {
      res.type('image/svg+xml').set('Cache-Control', 'public, max-age=86400').send(FAVICON_SVG);
    });
  }
}
