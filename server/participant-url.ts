/** The URL experimenters paste into Prolific, with Prolific's own placeholders (docs/design.md §4). */

export function publicBaseUrl(): string {
  return (process.env.METAMER_PUBLIC_URL ?? `http://localhost:${process.env.PORT ?? 8080}`).replace(/\/+$/, '');
}

export function participantUrl(base: string, studyId: string): string {
  return `${base}/run/${encodeURIComponent(studyId)}?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}`;
}

/** The page of one preview run (a made-up PID from ParticipantSessions.startPreview). */
export function previewRunPath(studyId: string, prolificPid: string): string {
  return `/run/${encodeURIComponent(studyId)}?PROLIFIC_PID=${encodeURIComponent(prolificPid)}&STUDY_ID=preview&SESSION_ID=preview`;
}
