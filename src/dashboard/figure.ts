import { esc } from './svg.ts';

/**
 * The frame every panel of the report shares: a `<figure class="chart">` with `data-chart` and
 * `data-points` (how many data points it draws), a title and subtitle, headline numbers as
 * `<span data-figure=… data-value=…>` (exact values, so a test or a person with the inspector can
 * check them against the queries), the body, and an optional note.
 */

/** One headline number of a panel. */
export interface Figure {
  readonly key: string;
  readonly label: string;
  /** Exact value (goes to data-value); null shows as "–". */
  readonly value: number | null;
  /** What a person reads; default the value. */
  readonly text?: string;
  readonly unit?: string;
}

/** A panel as HTML. `note` is HTML (escape what goes into it). */
export function figureHtml(chart: string, title: string, subtitle: string, points: number, body: string, figures: readonly Figure[], note = ''): string {
  const figs = figures
    .map((f) => {
      const text = f.value === null ? '–' : (f.text ?? String(f.value));
      const value = f.value === null ? '' : String(f.value);
      return `<div class="fig"><dt>${esc(f.label)}</dt><dd><span data-figure="${esc(f.key)}" data-value="${esc(value)}">${esc(text)}</span>${f.unit ? ` <small>${esc(f.unit)}</small>` : ''}</dd></div>`;
    })
    .join('');
  return (
    `<figure class="chart" data-chart="${esc(chart)}" data-points="${points}">` +
    `<figcaption><h2>${esc(title)}</h2><p class="sub">${esc(subtitle)}</p></figcaption>` +
    `<dl class="figures">${figs}</dl>${body}${note ? `<p class="note">${note}</p>` : ''}</figure>`
  );
}

/** Colours of the pipeline stages, used wherever a stage appears. */
export const STAGE_COLORS: Readonly<Record<string, string>> = {
  ingestion: '#4e79a7',
  validated: '#f28e2b',
  enriched: '#59a14f',
  aggregated: '#b07aa1',
};
/** A stage's colour (unknown stages teal). */
export const stageColor = (s: string): string => STAGE_COLORS[s] ?? '#76b7b2';
/** Colours of alert priorities. */
export const PRIORITY_COLORS: Readonly<Record<string, string>> = { high: '#d62728', medium: '#ff7f0e', low: '#e6b800', none: '#a0a0a0' };
/** Where processing runs: at the edge or in the cloud-only baseline. */
export const LOCATION_COLORS: Readonly<Record<string, string>> = { edge: '#2a9d8f', cloud: '#6c757d' };
/** The grey of raw rows (what the cloud-only baseline ships). */
export const RAW_COLOR = '#c9ced6';
/** The colour of target lines. */
export const TARGET_COLOR = '#d62728';
