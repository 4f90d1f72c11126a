/**
 * What an import found, per model and layer: how many metamers, and which sources lack one (studies
 * show those sources' natural stimulus in that condition instead; docs/design.md §5).
 */
import { type Draft, type ImportFormat, naturalCompare } from './draft.ts';
import { type Manifest, type Modality, isNatural } from './manifest.ts';

export interface LayerReport {
  layer: string;
  layer_index: number;
  metamers: number;
  /** Main sources without a metamer for this layer: studies show their natural stimulus instead. */
  missing_sources: string[];
}

export interface ImportReport {
  name: string;
  layout: ImportFormat;
  modality: Modality;
  categories: number;
  /** Main sources (those with a natural stimulus). */
  sources: number;
  naturals: number;
  practice: number;
  metamers: number;
  models: { model: string; layers: LayerReport[] }[];
  masks: { count: number; generated: boolean };
  /** Stimulus and mask files read, and their total size. */
  files: number;
  bytes: number;
  /** Files left out on purpose, by reason (diagnostic figures, failed metamers, other files). */
  ignored: Record<string, number>;
  /** Blobs new to the store (0 when only validating, or when every file was there already). */
  blobs_added: number;
}

export function buildReport(
  manifest: Manifest,
  layout: ImportFormat,
  draft: Draft,
  generatedMasks: boolean,
  files: number,
  bytes: number,
  blobsAdded: number,
): ImportReport {
  const main = manifest.items.filter((i) => i.role === 'main');
  const sources = main.filter((i) => isNatural(i.condition)).map((i) => i.source_id);
  const have = new Set(main.filter((i) => !isNatural(i.condition)).map((i) => `${i.source_id}\0${JSON.stringify(i.condition)}`));
  return {
    name: manifest.name,
    layout,
    modality: manifest.modality,
    categories: manifest.categories.length,
    sources: sources.length,
    naturals: sources.length,
    practice: manifest.items.filter((i) => i.role === 'practice').length,
    metamers: main.length - sources.length,
    models: manifest.models.map(({ model, layers }) => ({
      model,
      layers: layers.map((layer, i) => {
        const key = JSON.stringify({ model, layer, layer_index: i + 1 });
        const missing = sources.filter((s) => !have.has(`${s}\0${key}`));
        return { layer, layer_index: i + 1, metamers: sources.length - missing.length, missing_sources: missing };
      }),
    })),
    masks: { count: manifest.masks.length, generated: generatedMasks },
    files,
    bytes,
    ignored: Object.fromEntries(Object.entries(draft.ignored).sort(([a], [b]) => naturalCompare(a, b))),
    blobs_added: blobsAdded,
  };
}
