/**
 * vitest's global set-up: brings the compiled CLI (bin/cli-build.js) up to date with the sources
 * once, before any test spawns `bin/metamer.js`, so that parallel test files do not each rebuild it.
 * bin/metamer.js would rebuild a stale build by itself; this only saves the repeated work.
 */
import { cliEntryUrl } from '../../bin/cli-build.js';

export default async function setup(): Promise<void> {
  await cliEntryUrl();
}
