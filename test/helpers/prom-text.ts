/**
 * A strict parser of the Prometheus text exposition format 0.0.4 (what `/metrics` serves), for
 * tests: prom-client writes the format but has no reader. Stricter than Prometheus' own scraper
 * where that only catches mistakes: every line must be HELP, TYPE, a sample or empty; TYPE comes
 * once per family and before its samples; a family's samples are contiguous; names, label names
 * and escapes follow the format; no series appears twice; counters are ≥ 0; a histogram's
 * buckets are cumulative, end in `+Inf` and that bucket equals its `_count`, beside a `_sum`.
 */

/** One sample line. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family: its TYPE, HELP and samples. */
export interface PromFamily {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly help: string;
  readonly samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses an exposition; throws naming the line of the first violation. */
export function parsePromText(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, PromFamily & { help: string; type: PromFamily['type'] }>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  const typed = new Set<string>();
  let current: string | null = null;
  const lines = text.split('\n');
  lines.pop();
  const family = (name: string, no: number) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
    if (current !== name) {
      if (closed.has(name)) throw new Error(`line ${no}: family ${name} continues after another family began`);
      if (current !== null) closed.add(current);
      current = name;
    }
    return f;
  };
  lines.forEach((line, i) => {
    const no = i + 1;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`line ${no}: a comment that is not HELP or TYPE: ${line}`);
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`line ${no}: bad metric name ${name}`);
      const f = family(name, no);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`line ${no}: unknown type ${rest}`);
        if (f.samples.length > 0) throw new Error(`line ${no}: TYPE of ${name} after its samples`);
        if (typed.has(name)) throw new Error(`line ${no}: second TYPE of ${name}`);
        typed.add(name);
        f.type = rest as PromFamily['type'];
      } else {
        if (f.help) throw new Error(`line ${no}: second HELP of ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`line ${no}: bad escape in HELP`);
        f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      return;
    }
    const s = parseSample(line, no);
    const base = familyOf(s.name, families);
    const f = family(base, no);
    const id = `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
    if (seen.has(id)) throw new Error(`line ${no}: series ${s.name}${JSON.stringify(s.labels)} appears twice`);
    seen.add(id);
    if (f.type === 'counter' && !(s.value >= 0)) throw new Error(`line ${no}: counter ${s.name} is ${s.value}`);
    if (f.type !== 'histogram' && f.type !== 'summary' && s.name !== base) throw new Error(`line ${no}: sample ${s.name} in family ${base} of type ${f.type}`);
    f.samples.push(s);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The family a sample belongs to: itself, or a histogram/summary it is a `_bucket`/`_sum`/`_count` of. */
function familyOf(name: string, families: Map<string, PromFamily>): string {
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m && !families.has(name) && (families.get(m[1])?.type === 'histogram' || families.get(m[1])?.type === 'summary')) return m[1];
  return name;
}

function parseSample(line: string, no: number): PromSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
  if (!m) throw new Error(`line ${no}: not a sample: ${line}`);
  const labels: Record<string, string> = {};
  if (m[3] !== undefined && m[3] !== '') {
    const re = /([^=,]+)="((?:[^"\\]|\\.)*)"(,|$)/y;
    let at = 0;
    while (at < m[3].length) {
      re.lastIndex = at;
      const l = re.exec(m[3]);
      if (!l) throw new Error(`line ${no}: bad labels {${m[3]}}`);
      const [, name, raw] = l;
      if (!LABEL.test(name) || name.startsWith('__')) throw new Error(`line ${no}: bad label name ${name}`);
      if (name in labels) throw new Error(`line ${no}: label ${name} twice`);
      if (/\\[^\\"n]/.test(raw)) throw new Error(`line ${no}: bad escape in label ${name}`);
      labels[name] = raw.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      at = re.lastIndex;
    }
  }
  const v = m[4];
  const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v === 'NaN' ? NaN : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? Number(v) : undefined;
  if (value === undefined) throw new Error(`line ${no}: bad value ${v}`);
  return { name: m[1], labels, value };
}

function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}_bucket without le`);
      g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
    else throw new Error(`histogram ${f.name} has a sample ${s.name}`);
  }
  for (const [key, g] of groups) {
    const where = `histogram ${f.name}${key}`;
    if (g.sum === undefined || g.count === undefined) throw new Error(`${where}: no _sum or _count`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i][0] > g.buckets[i - 1][0])) throw new Error(`${where}: buckets not in ascending le`);
      if (g.buckets[i][1] < g.buckets[i - 1][1]) throw new Error(`${where}: buckets not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1];
    if (!last || last[0] !== Infinity) throw new Error(`${where}: no +Inf bucket`);
    if (last[1] !== g.count) throw new Error(`${where}: +Inf bucket ${last[1]} is not _count ${g.count}`);
  }
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function promValue(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}
