/**
 * A checksum of an image's pixels (FNV-1a over the red, green and blue of every 7th pixel), the
 * same in the page (a canvas's ImageData) and in Node (a PNG decoded by pngjs), so that a bench or
 * test can tell which image a canvas showed — or that it showed none.
 */
export function pixelChecksum(rgba: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let i = 0; i + 3 < rgba.length; i += 4 * 7) {
    for (let c = 0; c < 3; c++) h = Math.imul(h ^ rgba[i + c]!, 0x01000193);
  }
  return h >>> 0;
}
