#!/usr/bin/env node
// The CLI runs as JavaScript bundled from the TypeScript sources (bin/cli-build.js): rebuilt first
// whenever a source is newer than the build, so what runs is always what the sources say.
import { cliEntryUrl } from './cli-build.js';

// Source maps let stack traces name the TypeScript sources, not the bundle, but Node reads and
// parses the map of every module it loads (about 0.1 s of CPU for `metamer study list`, a third of
// its start-up: bench:startup). The server, where stack traces reach the logs and start-up is paid
// once, always has them; a one-shot command has them when METAMER_SOURCE_MAPS=1 (its internal-error
// message says so). Functions keep their names in the bundle either way (keepNames).
if (process.argv[2] === 'serve' || process.env.METAMER_SOURCE_MAPS === '1') process.setSourceMapsEnabled(true);
let entry;
try {
  entry = await cliEntryUrl();
} catch (e) {
  // dist/ not writable (a read-only install): compile the sources on the fly instead, slower to start.
  if (!['EACCES', 'EPERM', 'EROFS'].includes(e?.code)) throw e;
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../cli/main.ts', import.meta.url).href;
}
await import(entry);
