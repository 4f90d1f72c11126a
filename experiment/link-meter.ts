/**
 * What the participant's connection carries, measured from the stimulus downloads themselves (no
 * test download: the bytes measured are bytes the study needs anyway).
 *
 * Throughput is the bytes of the last few completed downloads over the time during which at least
 * one of them was in flight (the union of their intervals): parallel downloads share the line, so
 * summing their individual rates would overstate it, and idle time between downloads (the loader
 * waiting because it is far enough ahead) is not the line's. Each interval runs from the request to
 * the last byte, so the per-request latency is part of the rate: that is what the loader gets when
 * it asks for the next file. Latency is the shortest recent time to the response's headers: a
 * round trip plus the server's time, without queueing behind other downloads.
 */

export interface Transfer {
  /** When the request was made (ms, any monotonic clock). */
  start: number;
  /** When the response's headers arrived. */
  headers: number;
  /** When the last byte arrived. */
  end: number;
  bytes: number;
}

/** Completed downloads a measurement is made from: a few seconds of a slow line, one block on a fast one. */
const WINDOW = 8;

export class LinkMeter {
  private readonly recent: Transfer[] = [];

  record(t: Transfer): void {
    this.recent.push(t);
    if (this.recent.length > WINDOW) this.recent.shift();
  }

  /** Bytes per millisecond, or null before the first completed download. */
  throughput(): number | null {
    if (this.recent.length === 0) return null;
    const spans = [...this.recent].sort((a, b) => a.start - b.start);
    let busy = 0;
    let from = spans[0]!.start;
    let to = spans[0]!.end;
    for (const s of spans.slice(1)) {
      if (s.start > to) {
        busy += to - from;
        from = s.start;
        to = s.end;
      } else to = Math.max(to, s.end);
    }
    busy += to - from;
    const bytes = this.recent.reduce((a, t) => a + t.bytes, 0);
    // A download served from the HTTP cache can take "0 ms": count at least a millisecond.
    return bytes / Math.max(1, busy);
  }

  /** Milliseconds from request to headers (the shortest recent), or null before the first download. */
  latency(): number | null {
    if (this.recent.length === 0) return null;
    return Math.min(...this.recent.map((t) => t.headers - t.start));
  }

  /** Mean size of the recent downloads, or null before the first. */
  meanBytes(): number | null {
    if (this.recent.length === 0) return null;
    return this.recent.reduce((a, t) => a + t.bytes, 0) / this.recent.length;
  }
}
