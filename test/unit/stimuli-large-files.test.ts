/** Files above the whole-file limit are parsed with positional reads and streamed through the hash. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobStaging } from '../../stimuli/blob-staging.ts';
import { BlobStore, hashFile } from '../../stimuli/blob-store.ts';
import { MediaHeaderError } from '../../stimuli/media-headers.ts';
import { WHOLE_FILE_LIMIT, readStimulusFile } from '../../stimuli/stimulus-file.ts';
import { pcm16Wav } from '../fixtures/stimulus-sets.ts';
import { filesUnder, useTempDirs } from '../fixtures/temp-dir.ts';

const tmp = useTempDirs();

describe('large stimulus files', () => {
  it('are read, hashed and staged in a stream, with the same result as small ones', async () => {
    const root = await tmp();
    const samples = new Float32Array(WHOLE_FILE_LIMIT / 2 + 20000);
    for (let i = 0; i < samples.length; i++) samples[i] = Math.sin(i / 7) * 0.5;
    const file = path.join(root, 'long.wav');
    await fs.writeFile(file, pcm16Wav(samples, 20000));
    expect((await fs.stat(file)).size).toBeGreaterThan(WHOLE_FILE_LIMIT);

    const checked = await readStimulusFile(file, 'wav');
    const { sha256, bytes } = await hashFile(file);
    expect(checked).toEqual({
      sha256,
      bytes,
      media: { kind: 'audio', format: 'wav', sample_rate: 20000, channels: 1, bit_depth: 16, duration_s: samples.length / 20000 },
    });

    const store = new BlobStore(path.join(root, 'blobs'));
    const staging = await BlobStaging.open(store);
    await readStimulusFile(file, 'wav', staging);
    expect(await store.has(sha256, 'wav')).toBe(false);
    expect(await staging.commit()).toBe(1);
    expect(await filesUnder(store.root)).toEqual([`${sha256.slice(0, 2)}/${sha256}.wav`]);
    expect((await hashFile(store.pathOf(sha256, 'wav'))).sha256).toBe(sha256);

    await fs.truncate(file, WHOLE_FILE_LIMIT + 1001);
    const err = await readStimulusFile(file, 'wav').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaHeaderError);
    expect((err as Error).message).toMatch(/^truncated WAV: the data chunk declares \d+ bytes but the file holds \d+$/);
  });
});
