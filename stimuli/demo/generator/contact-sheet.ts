/**
 * The contact sheet: one source across every layer, one row per model. Column 0 is the natural
 * source, then the metamer for each layer in network order (images as they are; sounds as
 * spectrograms). A metamer that failed the
 * model-side checks is still drawn (it is what the optimiser reached) but inside a black frame,
 * where a passing one has a white frame; the study shows the natural source in its place.
 */
import { encodeGreyCanvas } from './stimulus-files.ts';

export interface ContactSheetRow {
  natural: Float32Array;
  /** One cell per layer, in network order. */
  cells: Array<{ pixels: Float32Array; passed: boolean }>;
}

const SCALE = 2;
const FRAME = 3;
const GAP = 6;

/** Cells are cellWidth × cellHeight grey pictures in [0, 1], drawn at `scale`× magnification. */
export function contactSheet(rows: readonly ContactSheetRow[], cellWidth: number, cellHeight = cellWidth, scale = SCALE): Buffer {
  const columns = 1 + Math.max(...rows.map((r) => r.cells.length));
  const cellW = cellWidth * scale + 2 * FRAME;
  const cellH = cellHeight * scale + 2 * FRAME;
  const width = GAP + columns * (cellW + GAP);
  const height = GAP + rows.length * (cellH + GAP);
  const canvas = new Uint8Array(width * height).fill(128);
  const draw = (pixels: Float32Array, col: number, row: number, frame: number): void => {
    const ox = GAP + col * (cellW + GAP);
    const oy = GAP + row * (cellH + GAP);
    for (let y = 0; y < cellH; y++) {
      for (let x = 0; x < cellW; x++) {
        const ix = x - FRAME;
        const iy = y - FRAME;
        const inside = ix >= 0 && iy >= 0 && ix < cellWidth * scale && iy < cellHeight * scale;
        const v = inside ? Math.round(pixels[Math.floor(iy / scale) * cellWidth + Math.floor(ix / scale)]! * 255) : frame;
        canvas[(oy + y) * width + ox + x] = Math.min(255, Math.max(0, v));
      }
    }
  };
  for (const [row, r] of rows.entries()) {
    draw(r.natural, 0, row, 255);
    for (const [i, c] of r.cells.entries()) draw(c.pixels, i + 1, row, c.passed ? 255 : 0);
  }
  return encodeGreyCanvas(canvas, width, height);
}
