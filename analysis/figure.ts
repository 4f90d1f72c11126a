/**
 * The paper's figure: recognizability against layer, one line per model, percentile-bootstrap CI
 * bars, and a dashed chance line. The natural condition is drawn as every model's first point, as
 * in the paper. Specified in vega-lite, compiled to vega and rendered to SVG in Node (no canvas).
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { RecognizabilityRow } from './recognizability.ts';

interface Point {
  study_id: string;
  model: string;
  layer: string;
  layer_index: number;
  x_label: string;
  recognizability: number | null;
  ci_low: number | null;
  ci_high: number | null;
}

function points(table: readonly RecognizabilityRow[]): { points: Point[]; chance: { study_id: string; chance: number }[] } {
  const out: Point[] = [];
  const chance: { study_id: string; chance: number }[] = [];
  const studies = [...new Set(table.map((r) => r.study_id))];
  for (const study of studies) {
    const rows = table.filter((r) => r.study_id === study);
    const natural = rows.find((r) => r.model === '');
    const models = [...new Set(rows.filter((r) => r.model !== '').map((r) => r.model))];
    // Name an x position after its layer when every model agrees on that name; else by its index.
    const namesAt = new Map<number, Set<string>>();
    for (const r of rows)
      if (r.model !== '') (namesAt.get(r.layer_index) ?? namesAt.set(r.layer_index, new Set()).get(r.layer_index)!).add(r.layer);
    const label = (r: RecognizabilityRow): string =>
      r.model === '' ? 'natural' : namesAt.get(r.layer_index)!.size === 1 ? r.layer : `layer ${r.layer_index}`;
    const lines = models.length > 0 ? models : [''];
    for (const m of lines) {
      const own = rows.filter((r) => r.model === m && m !== '');
      for (const r of natural ? [natural, ...own] : own) {
        out.push({
          study_id: study,
          model: m === '' ? 'natural' : m,
          layer: r.layer,
          layer_index: r.layer_index,
          x_label: label(r),
          recognizability: r.recognizability,
          ci_low: r.ci_low,
          ci_high: r.ci_high,
        });
      }
    }
    const c = rows.find((r) => r.chance !== null)?.chance;
    if (c !== undefined && c !== null) chance.push({ study_id: study, chance: c });
  }
  return { points: out, chance };
}

export interface FigureOptions {
  width?: number;
  height?: number;
  title?: string;
}

export function recognizabilityFigureSpec(table: readonly RecognizabilityRow[], opts: FigureOptions = {}): TopLevelSpec {
  const { points: values, chance } = points(table);
  const studies = [...new Set(values.map((p) => p.study_id))];
  const x = {
    field: 'x_label',
    type: 'ordinal' as const,
    title: 'Layer',
    sort: { field: 'layer_index', op: 'min' as const },
    axis: { labelAngle: -40 },
  };
  const y = { type: 'quantitative' as const, scale: { domain: [0, 1] }, title: 'Recognizability (proportion correct)' };
  const color = { field: 'model', type: 'nominal' as const, title: 'Model', legend: { labelLimit: 360 } };
  const layers = [
    {
      data: { values },
      mark: { type: 'rule' as const, opacity: 0.7 },
      encoding: { x, y: { ...y, field: 'ci_low' }, y2: { field: 'ci_high' }, color },
    },
    {
      data: { values },
      mark: { type: 'line' as const, point: true },
      encoding: {
        x,
        y: { ...y, field: 'recognizability' },
        color,
        tooltip: [
          { field: 'model' },
          { field: 'layer' },
          { field: 'recognizability', format: '.3f' },
          { field: 'ci_low', format: '.3f' },
          { field: 'ci_high', format: '.3f' },
        ],
      },
    },
    ...(chance.length
      ? [
          {
            data: { values: chance },
            mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#666' },
            encoding: { y: { field: 'chance', type: 'quantitative' as const } },
          },
        ]
      : []),
  ];
  const width = opts.width ?? 420;
  const height = opts.height ?? 300;
  if (studies.length <= 1) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: opts.title ?? (studies[0] ? `Recognizability: ${studies[0]}` : 'Recognizability'),
      width,
      height,
      layer: layers,
    } as TopLevelSpec;
  }
  // Several studies: one panel each, sharing the y axis.
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title ?? 'Recognizability',
    vconcat: studies.map((s) => ({
      title: s,
      width,
      height,
      layer: layers.map((l) => ({ ...l, transform: [{ filter: { field: 'study_id', equal: s } }] })),
    })),
  } as TopLevelSpec;
}

/** The figure as an SVG document (rendered headless; text is measured by vega's estimator). */
export async function recognizabilityFigureSvg(table: readonly RecognizabilityRow[], opts: FigureOptions = {}): Promise<string> {
  const spec = vl.compile(recognizabilityFigureSpec(table, opts)).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
