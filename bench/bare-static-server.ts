/**
 * A reference point for bench/serving.ts: Node's own floor for serving stimulus files, bare
 * node:http answering `/stimuli/<sha256>.<ext>` from buffers read into memory at start, with a
 * fixed set of headers. No routing library, no cache eviction, no conditional requests or ranges,
 * no security headers: what any Node server pays for HTTP and for copying each body to the socket.
 *
 * Usage: node --import tsx bench/bare-static-server.ts <blob dir> <port>
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [blobDir, portArg] = process.argv.slice(2);
const files = new Map<string, Buffer>();
for (const rel of fs.readdirSync(blobDir!, { recursive: true }).map(String)) {
  if (/^[0-9a-f]{2}[\\/][0-9a-f]{64}\.png$/.test(rel))
    files.set(`/stimuli/${path.basename(rel)}`, fs.readFileSync(path.join(blobDir!, rel)));
}
http
  .createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (!body) return void res.writeHead(req.url === '/' ? 200 : 404).end();
    res
      .writeHead(200, {
        'Content-Type': 'image/png',
        'Content-Length': body.length,
        'Cache-Control': 'public, max-age=31536000, immutable',
      })
      .end(body);
  })
  .listen(Number(portArg), '127.0.0.1');
