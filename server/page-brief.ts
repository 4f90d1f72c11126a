/** The study's brief that the run page carries for the device check (experiment/device-policy.ts). */
import type { PageBrief } from '../experiment/device-policy.ts';
import type { StudyRow } from './store/store.ts';
import { devicePolicyOf, participantTitle, PROLIFIC_RETURN_URL } from './study-config.ts';

export function pageBrief(study: StudyRow, preview: boolean): PageBrief {
  const c = study.config;
  return {
    study: study.id,
    modality: c.modality,
    title: participantTitle(c),
    device: devicePolicyOf(c),
    stereo: c.modality === 'audio' && (c.protocol.headphone_check ?? 'none') !== 'none',
    // Configs stored before the field existed have none.
    return_url: c.prolific.return_url ?? PROLIFIC_RETURN_URL,
    preview,
  };
}
