/**
 * `npm start`'s demo: import every set under stimuli/demo/<set>/ that has a manifest, create the
 * studies in stimuli/demo/studies/*.json whose set is there, and launch them. Idempotent: a second
 * start finds everything in place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from '../stimuli/blob-store.ts';
import { importStimulusSet } from '../stimuli/import.ts';
import { changeStudyStatus, createStudy } from './studies.ts';
import type { Store } from './store/store.ts';
import { jsonSyntaxError } from './config-errors.ts';
import { userError } from './http-error.ts';

export const DEMO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../stimuli/demo');

export interface DemoSetUp {
  sets: { name: string; outcome: 'created' | 'unchanged' }[];
  studies: string[];
}

export async function setUpDemoStudies(
  store: Store,
  blobs: BlobStore,
  root = DEMO_ROOT,
  log: (line: string) => void = () => {},
): Promise<DemoSetUp> {
  const out: DemoSetUp = { sets: [], studies: [] };
  if (!fs.existsSync(root)) return out;
  for (const entry of fs.readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(root, entry.name);
    if (!entry.isDirectory() || !fs.existsSync(path.join(dir, 'manifest.json'))) continue;
    log(`importing demo set ${entry.name}…`);
    const { manifest } = await importStimulusSet(dir, { blobs });
    out.sets.push({ name: manifest.name, outcome: await store.saveStimulusSet(manifest) });
  }
  const studyDir = path.join(root, 'studies');
  if (!fs.existsSync(studyDir)) return out;
  const known = new Set(out.sets.map((s) => s.name));
  for (const file of fs
    .readdirSync(studyDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const text = fs.readFileSync(path.join(studyDir, file), 'utf8');
    const syntax = jsonSyntaxError(text);
    if (syntax) throw userError(`${path.join(studyDir, file)}: not valid JSON: ${syntax}`);
    const config = JSON.parse(text) as { id: string; stimulus_set: string };
    if (!known.has(config.stimulus_set)) continue;
    const existing = await store.getStudy(config.id);
    if (!existing) await createStudy(store, config);
    const row = await store.getStudy(config.id);
    if (row?.status === 'draft') await changeStudyStatus(store, config.id, 'launch');
    out.studies.push(config.id);
  }
  return out;
}
