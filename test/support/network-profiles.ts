/**
 * Participants' connections, emulated by Chromium itself through the DevTools protocol
 * (`Network.emulateNetworkConditions`): every request of the page gets the latency before its
 * response starts, and all of the page's downloads share the throughput. This is request-level
 * throttling (no TCP handshakes or slow start are modelled), the kind Chrome DevTools applies.
 *
 * The two throttled profiles are Lighthouse's reference connections
 * (https://github.com/GoogleChrome/lighthouse/blob/main/docs/throttling.md):
 * - `slow`: Lighthouse's default "Slow 4G" (formerly "Fast 3G", WebPageTest's "Mobile 3G – Fast"):
 *   1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip — about the slowest quarter of mobile
 *   connections, and slower than most home Wi-Fi; a participant on it must still never wait.
 * - `broadband`: Lighthouse's desktop profile ("dense 4G", 25th percentile): 10 Mbit/s, 40 ms —
 *   a modest home line.
 * - `loopback`: no emulation (this machine's own loopback): what the page costs by itself.
 */
import type { Page } from 'playwright-core';

export interface NetworkProfile {
  name: string;
  /** Bytes per second; 0 for no emulation. */
  downloadBytesPerSecond: number;
  uploadBytesPerSecond: number;
  /** Added before each response starts, ms. */
  latencyMs: number;
  label: string;
}

const kbit = (k: number) => (k * 1024) / 8;

export const NETWORK_PROFILES = {
  slow: {
    name: 'slow',
    downloadBytesPerSecond: kbit(1.6 * 1024),
    uploadBytesPerSecond: kbit(750),
    latencyMs: 150,
    label: '1.6 Mbit/s, 150 ms RTT',
  },
  broadband: {
    name: 'broadband',
    downloadBytesPerSecond: kbit(10 * 1024),
    uploadBytesPerSecond: kbit(10 * 1024),
    latencyMs: 40,
    label: '10 Mbit/s, 40 ms RTT',
  },
  loopback: { name: 'loopback', downloadBytesPerSecond: 0, uploadBytesPerSecond: 0, latencyMs: 0, label: 'loopback, no emulation' },
} as const satisfies Record<string, NetworkProfile>;

export type ProfileName = keyof typeof NETWORK_PROFILES;

/** Applies the profile to the page (before it navigates); returns the page's DevTools session. */
export async function emulateNetwork(page: Page, profile: NetworkProfile) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  if (profile.downloadBytesPerSecond > 0) {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: profile.latencyMs,
      downloadThroughput: profile.downloadBytesPerSecond,
      uploadThroughput: profile.uploadBytesPerSecond,
    });
  }
  return cdp;
}
