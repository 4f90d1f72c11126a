/** The dashboard's JSON API: progress of every study, and one study's progress and table. */
import type { Router } from 'express';
import { type AdminContext, publicBase } from './context.ts';

export function apiRoutes(prot: Router, ctx: AdminContext): void {
  const { store } = ctx.deps;
  prot.get('/api/studies', async (req, res) => {
    const studies = await store.listStudies();
    res.json(await Promise.all(studies.map((s) => ctx.progress.progress(s, publicBase(req)))));
  });

  prot.get('/api/studies/:id', async (req, res) => {
    const v = await ctx.studyView(req, await ctx.studyOf(req));
    res.json({
      progress: v.progress,
      recognizability: v.analysis?.result.table ?? [],
      exclusions: v.analysis?.result.exclusions ?? null,
      recognizability_computed_at: v.analysis ? new Date(v.analysis.computedAt).toISOString() : null,
      analysis_error: v.analysisError ?? null,
    });
  });
}
