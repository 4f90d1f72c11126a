/**
 * The stimulus-set manifest (`manifest.json`): the single source of truth for what a set holds.
 * Types are inferred from these schemas; `npm run schemas` writes the JSON Schema for editors.
 */
import { z } from 'zod';

export const MANIFEST_FORMAT = 'metamer-stimulus-set/1';

export const Modality = z.enum(['image', 'audio']);
export type Modality = z.infer<typeof Modality>;

/** A name that is safe in a URL path segment, a file name and a CSV cell. */
export const Slug = z
  .string()
  .min(1)
  .max(120)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only, starting with a letter or digit');

export const NATURAL = 'natural' as const;

/** What produced a stimulus: a natural source, or a (model, layer) metamer of one. */
export const MetamerCondition = z.strictObject({
  model: Slug,
  layer: Slug.refine((l) => l !== NATURAL, { message: `"${NATURAL}" is reserved for natural stimuli` }),
  /** 1-based position of the layer in the model (0 is the natural condition). */
  layer_index: z.number().int().min(1),
});
export type MetamerCondition = z.infer<typeof MetamerCondition>;

export const Condition = z.union([z.literal(NATURAL), MetamerCondition]);
export type Condition = z.infer<typeof Condition>;

/**
 * `main` items are the experiment proper; `practice` items are natural stimuli from sources kept
 * apart from the main ones, used for practice, screening and catch trials so that no participant
 * meets a main source before its main trial.
 */
export const ItemRole = z.enum(['main', 'practice']);
export type ItemRole = z.infer<typeof ItemRole>;

export const ImageMedia = z.strictObject({
  kind: z.literal('image'),
  format: z.enum(['png', 'jpeg']),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  channels: z.number().int().min(1).max(4),
});
export const AudioMedia = z.strictObject({
  kind: z.literal('audio'),
  format: z.literal('wav'),
  sample_rate: z.number().int().positive(),
  channels: z.number().int().positive(),
  bit_depth: z.number().int().positive(),
  duration_s: z.number().positive(),
});
export const Media = z.discriminatedUnion('kind', [ImageMedia, AudioMedia]);
export type Media = z.infer<typeof Media>;

export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');

export const AttributeValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const ManifestItem = z.strictObject({
  /** Unique within the set; never shown to participants. */
  id: Slug,
  /** Path relative to the manifest's folder, with "/" separators. */
  file: z.string().min(1),
  category: z.string().min(1),
  source_id: Slug,
  condition: Condition,
  role: ItemRole.default('main'),
  /** Filled in on import from the file's own headers and bytes. */
  sha256: Sha256.optional(),
  media: Media.optional(),
  /** Free per-stimulus metadata, e.g. `model_prediction` (the generating model's own label). */
  attributes: z.record(z.string(), AttributeValue).default({}),
});
export type ManifestItem = z.infer<typeof ManifestItem>;
export type ManifestItemInput = z.input<typeof ManifestItem>;

export const ModelLayers = z.strictObject({
  model: Slug,
  /** Layer names in network order; position i is layer_index i + 1. */
  layers: z.array(Slug).min(1),
});

export const MaskFile = z.strictObject({
  file: z.string().min(1),
  sha256: Sha256.optional(),
});

export const Manifest = z.strictObject({
  format: z.literal(MANIFEST_FORMAT).default(MANIFEST_FORMAT),
  name: Slug,
  modality: Modality,
  description: z.string().optional(),
  /** The labels participants choose from, in the order buttons show them. */
  categories: z.array(z.string().min(1)).min(2),
  models: z.array(ModelLayers).default([]),
  /** Noise masks shown after each image (generated on import when absent). */
  masks: z.array(MaskFile).default([]),
  items: z.array(ManifestItem).min(1),
});
export type Manifest = z.infer<typeof Manifest>;
export type ManifestInput = z.input<typeof Manifest>;

export function conditionKey(c: Condition): string {
  return c === NATURAL ? NATURAL : `${c.model}/${c.layer}`;
}

export function isNatural(c: Condition): c is typeof NATURAL {
  return c === NATURAL;
}
