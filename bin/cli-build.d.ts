/** Types of bin/cli-build.js (plain JavaScript: it runs before anything is compiled). */
export interface CliBuildStamp {
  /** The entry module, relative to OUT_DIR. */
  entry: string;
  /** When the build began (ms since the epoch): a source modified at or after it makes the build stale. */
  startedAt: number;
  /** The files the build was made from, relative to ROOT. */
  inputs: string[];
  /** The files it wrote, relative to OUT_DIR. */
  files: string[];
}
export const ROOT: string;
export const OUT_DIR: string;
export function freshBuild(): CliBuildStamp | null;
export function buildCli(): Promise<CliBuildStamp>;
export function cliEntryUrl(): Promise<string>;
