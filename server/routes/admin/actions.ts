/** What an experimenter does to a study: launch, pause, close, look for idle sessions, preview it. */
import type { Router } from 'express';
import { sweepStudy } from '../../abandonment.ts';
import { wantsJson } from '../../error-handler.ts';
import { changeStudyStatus, type StudyAction } from '../../studies.ts';
import { previewRunPath } from '../../participant-url.ts';
import { type AdminContext, publicBase, studyUrl } from './context.ts';

const STUDY_ACTIONS: StudyAction[] = ['launch', 'pause', 'close'];

export function actionRoutes(prot: Router, ctx: AdminContext): void {
  const { store, sessions, logger } = ctx.deps;
  for (const action of STUDY_ACTIONS) {
    prot.post(`/studies/:id/${action}`, async (req, res) => {
      const row = await changeStudyStatus(store, String(req.params.id), action);
      sessions.forget(row.id);
      logger.info({ study: row.id, status: row.status }, `study ${action}`);
      if (wantsJson(req)) return void res.json({ id: row.id, status: row.status });
      res.redirect(303, studyUrl(row.id, `?done=${action}`));
    });
  }

  prot.post('/studies/:id/sweep', async (req, res) => {
    const study = await ctx.studyOf(req);
    const n = await sweepStudy(store, study);
    if (wantsJson(req)) return void res.json({ id: study.id, abandoned: n });
    res.redirect(303, studyUrl(study.id, `?done=sweep&n=${n}`));
  });

  prot.post('/studies/:id/preview', async (req, res) => {
    const study = await ctx.studyOf(req);
    const { session, prolificPid } = await sessions.startPreview(study.id);
    const url = previewRunPath(study.id, prolificPid);
    logger.info({ study: study.id, session: session.participant_id }, 'preview started');
    if (wantsJson(req)) return void res.status(201).json({ url: publicBase(req) + url, participant_id: session.participant_id });
    res.redirect(303, url);
  });
}
