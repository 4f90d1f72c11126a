/** Waits for a condition in a page under test (jsdom), polling every 5 ms; fails after `tries` polls. */
export async function until(what: string, ok: () => boolean, tries = 1000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}
