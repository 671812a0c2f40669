/**
 * How a query appears on the Databricks AI/BI (Lakeview) dashboard, written next to the query in
 * `queries.ts` (its `lakeview` annotation). `lakeview.ts` turns the annotations into
 * `databricks/edgelake.lvdash.json`: a query with an annotation becomes a dataset, each widget a
 * visualization on the annotation's page, so a query added later shows up without touching the
 * generator. Widgets bind to the query's output columns by name.
 */

/** The dashboard's pages, one per concern of the brief, in display order. */
export const LAKEVIEW_PAGES = [
  {
    id: 'volume',
    title: 'Volume by stage',
    intro:
      'What each pipeline stage writes to the lake for the rows it read, against the raw rows shipped as ingestion objects. Reduction % compares bytes per source row, so stages that processed different rows are still compared like for like.',
  },
  {
    id: 'latency',
    title: 'Latency: edge vs cloud',
    intro:
      'Event time → object durable in the lake (batches) and event time → alert, from the per-row percentiles every batch records. Cloud rows come from the measured cloud-only baseline. The target is 1 s.',
  },
  {
    id: 'fleet',
    title: 'The fleet',
    intro:
      'Where processing happens: every node placed at the centroid of the fuzzed positions of the sensors it processed, with its records, Bacalhau job executions and latency.',
  },
  {
    id: 'anomalies',
    title: 'Anomalies and alerts',
    intro: 'Alerts raised at the edge by priority over time, how fast they were raised, and where the sensors that raised them are.',
  },
  {
    id: 'rejects',
    title: 'Rejects by rule',
    intro: 'Readings that failed validation at the edge (kept and flagged, never dropped), by the rule and field they broke.',
  },
  {
    id: 'cost',
    title: 'Transfer cost',
    intro:
      'Transfer cost from measured bytes: what each stage shipped against shipping the same rows raw, at the price set in the usd_per_gb parameter.',
  },
  {
    id: 'metrics',
    title: 'Success metrics',
    intro: "The brief's five success metrics, each measured from the lake, with its target and pass/fail, and the GPS privacy check.",
  },
] as const satisfies readonly { readonly id: string; readonly title: string; readonly intro: string }[];

/** One page of {@link LAKEVIEW_PAGES}. */
export type LakeviewPage = (typeof LAKEVIEW_PAGES)[number];

/** A page id, e.g. `latency`. */
export type PageId = LakeviewPage['id'];

/** Aggregations a widget may apply to a column (the dataset stays the query's rows). */
export type Aggregation = 'SUM' | 'AVG' | 'MIN' | 'MAX' | 'COUNT';

/** A column of the query's output, optionally aggregated by the widget (e.g. a counter summing a per-stage column). */
export type FieldRef = string | { readonly field: string; readonly agg: Aggregation };

/** How a number is shown. */
export interface FieldFormat {
  /** Maximum decimal places. Default 2. */
  readonly decimals?: number;
  /** Text after the number, e.g. `%` or ` ms`. */
  readonly suffix?: string;
  /** Show as US dollars. */
  readonly usd?: boolean;
  /** Abbreviate large numbers (1.2K, 3.4M). */
  readonly compact?: boolean;
}

/** What every widget has. */
interface WidgetCommon {
  readonly title: string;
  /** Shown under the title. */
  readonly description?: string;
  /** Width in grid columns out of 12. Defaults by kind: counter 3, chart 6, table 12, map 6. */
  readonly width?: number;
  /** Height in grid rows. Defaults by kind: counter 3, chart 6, table 6, map 8. */
  readonly height?: number;
  /** Position among the page's widgets of the same kind group, lower first. Default 0 (then query order). */
  readonly order?: number;
}

/** A visualization bound to its query's columns. */
export type WidgetSpec = WidgetCommon &
  (
    | { readonly kind: 'counter'; readonly value: FieldRef; readonly format?: FieldFormat }
    | {
        /** Vertical bars of one measure (optionally split by `color`), or horizontal grouped bars of several. */
        readonly kind: 'bar';
        readonly x: FieldRef;
        readonly y: FieldRef | readonly FieldRef[];
        readonly color?: FieldRef;
        readonly stacked?: boolean;
        /** Scale of `x`. Default categorical. */
        readonly xScale?: 'categorical' | 'temporal';
      }
    | {
        readonly kind: 'line';
        readonly x: FieldRef;
        readonly y: FieldRef | readonly FieldRef[];
        readonly color?: FieldRef;
        /** Scale of `x`. Default temporal. */
        readonly xScale?: 'categorical' | 'temporal' | 'quantitative';
      }
    | { readonly kind: 'table'; readonly columns: readonly string[] }
    | {
        /** Points on a map at `latitude`/`longitude`. */
        readonly kind: 'map';
        readonly latitude: string;
        readonly longitude: string;
        readonly size?: FieldRef;
        readonly color?: FieldRef;
        /** Scale of `color`. Default categorical. */
        readonly colorScale?: 'categorical' | 'quantitative';
        /** Columns shown in the tooltip. */
        readonly extra?: readonly string[];
      }
  );

/** Where a query appears on the dashboard: its page and its widgets (in display order per kind). */
export interface LakeviewPlacement {
  readonly page: PageId;
  readonly widgets: readonly WidgetSpec[];
}
