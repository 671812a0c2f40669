import type { QueryParam } from './dialect.ts';
import { LAKEVIEW_PAGES, type FieldFormat, type FieldRef, type PageId, type WidgetSpec } from './lakeview-spec.ts';
import { QUERY_PARAMS, renderedQueries, type RenderedQuery } from './queries.ts';

/**
 * `databricks/edgelake.lvdash.json`: a Databricks AI/BI (Lakeview) dashboard in the format the
 * workspace exports and imports (`datasets` with `queryLines` and `parameters`; `pages` whose
 * `layout` places widgets, each widget's `queries` selecting dataset fields and its `spec`
 * encoding them). Every query of `queries.ts` with a `lakeview` annotation becomes one dataset,
 * its SQL the query's Databricks rendering, so the dashboard, `dashboard_queries.sql`,
 * `edgelake query` and the local dashboard share one definition. Pages come from
 * {@link LAKEVIEW_PAGES}; a global-filters page holds one widget per parameter the datasets use
 * (catalog, schema, price), bound to every dataset that uses it.
 */

/** A dataset parameter as the dashboard file declares it. */
export interface LvParameter {
  readonly displayName: string;
  readonly keyword: string;
  readonly dataType: QueryParam['type'];
  readonly defaultSelection: { readonly values: { readonly dataType: QueryParam['type']; readonly values: readonly { readonly value: string }[] } };
}

/** A dataset: one query's SQL, split into lines as the editor stores it. */
export interface LvDataset {
  readonly name: string;
  readonly displayName: string;
  readonly queryLines: readonly string[];
  readonly parameters?: readonly LvParameter[];
}

/** A field a widget query selects from its dataset. */
export interface LvField {
  readonly name: string;
  readonly expression: string;
}

/** A widget's query: fields (or parameters, for a filter) of one dataset. */
export interface LvQuery {
  readonly name: string;
  readonly query: {
    readonly datasetName: string;
    readonly fields?: readonly LvField[];
    readonly parameters?: readonly { readonly name: string; readonly keyword: string }[];
    readonly disaggregated: boolean;
  };
}

/** A widget: a visualization or filter (`spec`), or a text box. */
export interface LvWidget {
  readonly name: string;
  readonly queries?: readonly LvQuery[];
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly multilineTextboxSpec?: { readonly lines: readonly string[] };
}

/** A widget placed on the 12-column grid. */
export interface LvLayoutItem {
  readonly widget: LvWidget;
  readonly position: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

/** A page: the canvas pages, then the global filters. */
export interface LvPage {
  readonly name: string;
  readonly displayName: string;
  readonly pageType: 'PAGE_TYPE_CANVAS' | 'PAGE_TYPE_GLOBAL_FILTERS';
  readonly layoutVersion: 'GRID_V1';
  readonly layout: readonly LvLayoutItem[];
}

/** The whole dashboard file. */
export interface LvDashboard {
  readonly datasets: readonly LvDataset[];
  readonly pages: readonly LvPage[];
}

/** Columns of the grid (GRID_V1 layouts are 12 wide). */
export const GRID_COLUMNS = 12;

const DEFAULT_SIZE: Record<WidgetSpec['kind'], { width: number; height: number }> = {
  counter: { width: 3, height: 3 },
  bar: { width: 6, height: 6 },
  line: { width: 6, height: 6 },
  map: { width: 6, height: 8 },
  table: { width: 12, height: 6 },
};

/** Display order of widget kinds on a page: headline numbers, maps, charts, then tables. */
const KIND_ORDER: Record<WidgetSpec['kind'], number> = { counter: 0, map: 1, bar: 2, line: 2, table: 3 };

/** The dashboard built from every annotated query. */
export function lakeviewDashboard(): LvDashboard {
  const queries = renderedQueries().filter((q): q is RenderedQuery & { lakeview: NonNullable<RenderedQuery['lakeview']> } => q.lakeview !== undefined);
  const datasets = queries.map(datasetOf);
  const pages: LvPage[] = LAKEVIEW_PAGES.map((page) => canvasPage(page, queries.filter((q) => q.lakeview.page === page.id)));
  pages.push(filtersPage(queries));
  return { datasets, pages };
}

/** The dashboard file's text: two-space JSON and a final newline, as the generator commits it. */
export function lakeviewJson(): string {
  return JSON.stringify(lakeviewDashboard(), null, 2) + '\n';
}

/** A query's SQL as `queryLines`: every line keeps its newline except the last. */
export function queryLines(sql: string): string[] {
  const lines = sql.split('\n');
  return lines.map((l, i) => (i < lines.length - 1 ? l + '\n' : l));
}

function datasetOf(q: RenderedQuery): LvDataset {
  return {
    name: q.name,
    displayName: q.title,
    queryLines: queryLines(q.databricksSql),
    ...(q.params.length ? { parameters: q.params.map(parameterOf) } : {}),
  };
}

function parameterOf(p: QueryParam): LvParameter {
  return {
    displayName: p.keyword,
    keyword: p.keyword,
    dataType: p.type,
    defaultSelection: { values: { dataType: p.type, values: [{ value: String(p.default) }] } },
  };
}

function canvasPage(page: (typeof LAKEVIEW_PAGES)[number], queries: readonly (RenderedQuery & { lakeview: { page: PageId; widgets: readonly WidgetSpec[] } })[]): LvPage {
  const specs = queries.flatMap((q) => q.lakeview.widgets.map((w, i) => ({ q, w, i })));
  // A stable sort keeps the query order, then the annotation order, within a kind.
  specs.sort((a, b) => KIND_ORDER[a.w.kind] - KIND_ORDER[b.w.kind] || (a.w.order ?? 0) - (b.w.order ?? 0));
  const layout: LvLayoutItem[] = [
    {
      widget: { name: `${page.id}_intro`, multilineTextboxSpec: { lines: [`## ${page.title}\n`, '\n', page.intro] } },
      position: { x: 0, y: 0, width: GRID_COLUMNS, height: 2 },
    },
  ];
  let x = 0;
  let y = 2;
  let rowHeight = 0;
  let group = 0;
  for (const { q, w, i } of specs) {
    const width = Math.min(GRID_COLUMNS, w.width ?? DEFAULT_SIZE[w.kind].width);
    const height = w.height ?? DEFAULT_SIZE[w.kind].height;
    // A new row when the row is full or the kind group changes (numbers, charts, tables each start a row).
    if (x + width > GRID_COLUMNS || (x > 0 && KIND_ORDER[w.kind] !== group)) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
    layout.push({ widget: widgetOf(q.name, `${q.name}_w${i}`, w), position: { x, y, width, height } });
    x += width;
    rowHeight = Math.max(rowHeight, height);
    group = KIND_ORDER[w.kind];
  }
  return { name: page.id, displayName: page.title, pageType: 'PAGE_TYPE_CANVAS', layoutVersion: 'GRID_V1', layout };
}

function filtersPage(queries: readonly RenderedQuery[]): LvPage {
  const layout: LvLayoutItem[] = [];
  for (const p of QUERY_PARAMS) {
    const users = queries.filter((q) => q.params.some((u) => u.keyword === p.keyword));
    if (users.length === 0) continue;
    const bound = users.map((q) => ({
      name: `param_${q.name}_${p.keyword}`,
      query: { datasetName: q.name, parameters: [{ name: p.keyword, keyword: p.keyword }], disaggregated: false },
    }));
    const n = layout.length;
    layout.push({
      widget: {
        name: `filter_${p.keyword}`,
        queries: bound,
        spec: {
          version: 2,
          widgetType: 'filter-single-select',
          encodings: { fields: bound.map((b) => ({ parameterName: p.keyword, queryName: b.name })) },
          frame: { showTitle: true, title: p.title, showDescription: true, description: `parameter :${p.keyword}, default ${p.default}` },
        },
      },
      position: { x: (n % 3) * 4, y: Math.floor(n / 3) * 2, width: 4, height: 2 },
    });
  }
  return { name: 'global_filters', displayName: 'Filters', pageType: 'PAGE_TYPE_GLOBAL_FILTERS', layoutVersion: 'GRID_V1', layout };
}

/** The field a widget selects for a column reference: the bare column, or the widget-side aggregate. */
export function fieldOf(ref: FieldRef): LvField {
  if (typeof ref === 'string') return { name: ref, expression: `\`${ref}\`` };
  return { name: `${ref.agg.toLowerCase()}(${ref.field})`, expression: `${ref.agg}(\`${ref.field}\`)` };
}

const label = (ref: FieldRef) => (typeof ref === 'string' ? ref : `${ref.agg.toLowerCase()} of ${ref.field}`).replace(/_/g, ' ');

function encoding(ref: FieldRef, scale?: string): Record<string, unknown> {
  return { fieldName: fieldOf(ref).name, ...(scale ? { scale: { type: scale } } : {}), displayName: label(ref) };
}

function formatOf(f: FieldFormat): Record<string, unknown> {
  return {
    type: f.usd ? 'number-currency' : 'number',
    ...(f.usd ? { currencyCode: 'USD' } : {}),
    ...(f.compact ? { abbreviation: 'compact' } : {}),
    decimalPlaces: { type: 'max', places: f.decimals ?? 2 },
    ...(f.suffix ? { suffix: f.suffix } : {}),
  };
}

function widgetOf(dataset: string, name: string, w: WidgetSpec): LvWidget {
  const refs: FieldRef[] = [];
  let encodings: Record<string, unknown>;
  let widgetType: string;
  let version: number;
  let mark: Record<string, unknown> | undefined;
  switch (w.kind) {
    case 'counter':
      refs.push(w.value);
      widgetType = 'counter';
      version = 2;
      encodings = { value: { ...encoding(w.value), displayName: w.title, ...(w.format ? { format: formatOf(w.format) } : {}) } };
      break;
    case 'bar':
    case 'line': {
      const ys = Array.isArray(w.y) ? (w.y as readonly FieldRef[]) : [w.y as FieldRef];
      refs.push(w.x, ...ys, ...(w.color ? [w.color] : []));
      widgetType = w.kind;
      version = 3;
      const xScale = w.xScale ?? (w.kind === 'line' ? 'temporal' : 'categorical');
      const measures = { scale: { type: 'quantitative' }, fields: ys.map((r) => ({ fieldName: fieldOf(r).name, displayName: label(r) })) };
      if (w.kind === 'bar' && ys.length > 1) {
        // Several measures per category: horizontal grouped bars, the layout AI/BI exports for it.
        encodings = { y: encoding(w.x, 'categorical'), x: measures };
        mark = { layout: 'group' };
      } else {
        encodings = { x: encoding(w.x, xScale), y: ys.length > 1 ? measures : encoding(ys[0], 'quantitative') };
        if (w.kind === 'bar' && w.color) mark = { layout: w.stacked ? 'stack' : 'group' };
      }
      if (w.color) encodings.color = encoding(w.color, 'categorical');
      break;
    }
    case 'table':
      refs.push(...w.columns);
      widgetType = 'table';
      version = 2;
      encodings = { columns: w.columns.map((c) => ({ fieldName: c, displayName: c })) };
      break;
    case 'map':
      refs.push(w.latitude, w.longitude, ...(w.size ? [w.size] : []), ...(w.color ? [w.color] : []), ...(w.extra ?? []));
      widgetType = 'symbol-map';
      version = 2;
      encodings = {
        coordinates: { latitude: { fieldName: w.latitude }, longitude: { fieldName: w.longitude } },
        ...(w.size ? { size: encoding(w.size, 'quantitative') } : {}),
        ...(w.color ? { color: encoding(w.color, w.colorScale ?? 'categorical') } : {}),
        ...(w.extra ? { extra: w.extra.map((c) => ({ fieldName: c, displayName: c })) } : {}),
      };
      mark = { opacity: 0.8 };
      break;
  }
  const fields: LvField[] = [];
  for (const r of refs) {
    const f = fieldOf(r);
    if (!fields.some((g) => g.name === f.name)) fields.push(f);
  }
  return {
    name,
    queries: [{ name: 'main_query', query: { datasetName: dataset, fields, disaggregated: !refs.some((r) => typeof r !== 'string') } }],
    spec: {
      version,
      widgetType,
      encodings,
      ...(mark ? { mark } : {}),
      frame: { showTitle: true, title: w.title, ...(w.description ? { showDescription: true, description: w.description } : {}) },
    },
  };
}
