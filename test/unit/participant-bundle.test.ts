/**
 * The participant page's script as the server sends it: no test hook. A global such as
 * `window.__metamer` would hand any script on the page (an extension, a participant's console)
 * the saving queue and the session's view; tests read what the page shows and stores instead.
 */
import { expect, it } from 'vitest';
import { buildExperimentBundle } from '../../server/experiment-bundle.ts';

it('the participant bundle carries no test hook on window', async () => {
  const { js } = await buildExperimentBundle();
  const script = js.body.toString('utf8');
  // The bundle is the real one: it has the saving queue's storage key in it. (Booleans below: a
  // failure would otherwise print the whole minified script.)
  expect(script.includes('metamer-queue:')).toBe(true);
  expect(script.includes('__metamer'), 'window.__metamer in the bundle').toBe(false);
  expect(/window\.__\w+\s*=/.test(script), 'a window.__… global assigned').toBe(false);
});
