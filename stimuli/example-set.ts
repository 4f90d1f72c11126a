/**
 * A small stimulus set in the plain folder-tree layout (README, "Stimulus sets"), copied from the
 * demo image set (stimuli/demo/image, made by this project's generator): 4 categories, 2 main
 * sources each, natural images and the metamers of two models at two layers each, and the demo's
 * practice images of those categories. README's first-study walk-through starts from it, and its
 * layout is the one an experimenter's own set takes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { conditionKey, type Manifest, NATURAL } from './manifest.ts';
import { userError } from '../server/http-error.ts';

export const DEMO_IMAGE_SET = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'demo/image');

export interface ExampleSetShape {
  categories: number;
  sourcesPerCategory: number;
  /** Per model, the layers copied (in the model's network order). */
  layers: Record<string, string[]>;
}

export const EXAMPLE_SET: ExampleSetShape = {
  categories: 4,
  sourcesPerCategory: 2,
  layers: { standard_cnn: ['conv2_relu', 'final'], robust_cnn: ['conv2_relu', 'final'] },
};

export interface ExampleSetReport {
  dir: string;
  files: number;
  categories: string[];
  sources: number;
  practice: number;
}

/** Writes the example set into `dir` (which must not exist or be empty). */
export function writeExampleSet(dir: string, shape: ExampleSetShape = EXAMPLE_SET, demo = DEMO_IMAGE_SET): ExampleSetReport {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw userError(`${dir}: exists and is not empty; choose a new folder`);
  const manifest = JSON.parse(fs.readFileSync(path.join(demo, 'manifest.json'), 'utf8')) as Manifest;
  const categories = manifest.categories.slice(0, shape.categories);
  const wanted = Object.entries(shape.layers);
  const metamer = (source: string, model: string, layer: string) =>
    manifest.items.find((i) => i.source_id === source && i.condition !== NATURAL && conditionKey(i.condition) === `${model}/${layer}`);
  // Sources with every wanted metamer, so the example needs no natural stand-ins.
  const complete = (source: string) => wanted.every(([model, layers]) => layers.every((l) => metamer(source, model, l)));
  const copies: [from: string, to: string][] = [];
  let sources = 0;
  let practice = 0;
  for (const category of categories) {
    const naturals = manifest.items.filter((i) => i.category === category && i.condition === NATURAL);
    for (const item of naturals.filter((i) => i.role === 'main' && complete(i.source_id)).slice(0, shape.sourcesPerCategory)) {
      sources++;
      copies.push([item.file, `natural/${category}/${item.source_id}.png`]);
      for (const [model, layers] of wanted) {
        for (const layer of layers) {
          copies.push([metamer(item.source_id, model, layer)!.file, `${model}/${layer}/${category}/${item.source_id}.png`]);
        }
      }
    }
    for (const item of naturals.filter((i) => i.role === 'practice')) {
      practice++;
      copies.push([item.file, `practice/${category}/${item.source_id}.png`]);
    }
  }
  for (const [from, to] of copies) {
    fs.mkdirSync(path.dirname(path.join(dir, to)), { recursive: true });
    fs.copyFileSync(path.join(demo, from), path.join(dir, to));
  }
  fs.writeFileSync(path.join(dir, 'categories.txt'), categories.join('\n') + '\n');
  for (const [model, layers] of wanted) fs.writeFileSync(path.join(dir, model, 'layers.txt'), layers.join('\n') + '\n');
  return { dir, files: copies.length + 1 + wanted.length, categories, sources, practice };
}
