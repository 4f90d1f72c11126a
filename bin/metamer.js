#!/usr/bin/env node
// The CLI runs as JavaScript bundled from the TypeScript sources (bin/cli-build.js): rebuilt first
// whenever a source is newer than the build, so what runs is always what the sources say.
import { cliEntryUrl } from './cli-build.js';

// Internal errors' stack traces then name the TypeScript sources, not the bundle.
process.setSourceMapsEnabled(true);
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
