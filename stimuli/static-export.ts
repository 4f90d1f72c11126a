/**
 * `metamer stimuli export-static`: the stored stimulus files laid out for any static host or CDN,
 * plus an nginx server block, so that participants load stimuli from there
 * (`metamer serve --stimulus-base-url https://cdn.example/stimuli/`) while this server keeps the
 * pages and the API. Files are written under their keyed names (server/stimulus-keys.ts), the
 * names the server gives participants, so the copy reveals no content hash; the names are stable
 * for one key, so the copy can be synced incrementally and cached forever. The headphone check's
 * per-session trial sounds are not files: the server always serves those itself.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { type BlobExt, type BlobStore, MIME_BY_EXT } from './blob-store.ts';

/** What the export needs of the deployment's stimulus-name key. */
export interface PublicNames {
  publicName(file: string): string;
}

export interface StaticExportResult {
  files: number;
  bytes: number;
  /** Files already present with the same name (and so the same content). */
  unchanged: number;
  dir: string;
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    // Another file system, or links not allowed: copy instead.
    if (code === 'EXDEV' || code === 'EPERM' || code === 'ENOTSUP') await fs.copyFile(from, to);
    else throw e;
  }
}

export function nginxServerBlock(root: string, serverName = '_'): string {
  const types = Object.entries(MIME_BY_EXT)
    .map(([ext, mime]) => `        ${mime} ${ext};`)
    .join('\n');
  return `# Serves the stimulus files written by \`metamer stimuli export-static\`.
# Point the platform at it with: metamer serve --stimulus-base-url https://<this host>/stimuli/
server {
    listen 80;
    server_name ${serverName};
    root ${root};

    location /stimuli/ {
        # Only <keyed name>.<ext> files exist here; anything else is a 404.
        location ~ "^/stimuli/[0-9a-f]{64}\\.(png|jpg|wav)$" {
            types {
${types}
            }
            # A name stands for one content: it never changes.
            add_header Cache-Control "public, max-age=31536000, immutable" always;
            # The experiment page (another origin) fetches audio with WebAudio, which needs CORS.
            add_header Access-Control-Allow-Origin "*" always;
            add_header Cross-Origin-Resource-Policy "cross-origin" always;
            add_header X-Content-Type-Options "nosniff" always;
            etag on;
            sendfile on;
            tcp_nopush on;
            open_file_cache max=10000 inactive=60s;
            try_files $uri =404;
        }
        return 404;
    }
}
`;
}

export async function exportStatic(
  blobs: BlobStore,
  entries: { sha256: string; ext: BlobExt }[],
  outDir: string,
  names: PublicNames,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<StaticExportResult> {
  const dir = path.resolve(outDir);
  const target = path.join(dir, 'stimuli');
  await fs.mkdir(target, { recursive: true });
  let bytes = 0;
  let unchanged = 0;
  for (const [i, { sha256, ext }] of entries.entries()) {
    const from = blobs.pathOf(sha256, ext);
    const to = path.join(target, names.publicName(`${sha256}.${ext}`));
    const st = await fs.lstat(from).catch(() => null);
    if (!st?.isFile())
      throw Object.assign(new Error(`${from}: listed in the database but missing from the store`), { expose: true as const });
    bytes += st.size;
    if (
      await fs.stat(to).then(
        (s) => s.size === st.size,
        () => false,
      )
    )
      unchanged++;
    else await linkOrCopy(from, to);
    onProgress(i + 1, entries.length);
  }
  await fs.writeFile(path.join(dir, 'nginx.conf'), nginxServerBlock(dir));
  return { files: entries.length, bytes, unchanged, dir };
}
