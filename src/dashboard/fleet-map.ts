import type { DashboardData, FleetNode } from './data.ts';
import { LOCATION_COLORS, figureHtml, type Figure } from './figure.ts';
import { placeLabels, type LabelPoint } from './labels.ts';
import { emptyPlot, esc, frame, legend, niceTicks, px, svgOpen, xRange, yRange } from './svg.ts';
import { count, duration } from './units.ts';

/**
 * The fleet panel: where processing happens — every node at its identity's city (not where its
 * sensors are), sized by the records it processed, beside the central region the cloud-only
 * baseline processes in — with non-overlapping labels, and a table of every node: what it is,
 * its Bacalhau job, what it processed and how fast.
 */

/** Where the cloud-only baseline's central process runs, by the lake's region (the buckets' region). */
export const CENTRAL_SITES: Readonly<Record<string, { readonly name: string; readonly lat: number; readonly lon: number }>> = {
  'us-west-2': { name: 'us-west-2 (Oregon)', lat: 45.84, lon: -119.7 },
  'us-east-1': { name: 'us-east-1 (N. Virginia)', lat: 38.95, lon: -77.45 },
  'eu-west-1': { name: 'eu-west-1 (Ireland)', lat: 53.35, lon: -6.26 },
  'eu-central-1': { name: 'eu-central-1 (Frankfurt)', lat: 50.11, lon: 8.68 },
};

const FONT = { size: 11 } as const;

/** The map of nodes and the central region, then the fleet table. */
export function fleetChart(d: DashboardData, region: string): string {
  // Drawn across the full page width: a wide frame keeps the labels at their font size.
  const f = frame({ width: 1120, height: 420, left: 44, right: 12, top: 12, bottom: 30 });
  const located = d.fleet.filter((n) => n.lat !== null && n.lon !== null);
  const central = CENTRAL_SITES[region] ?? null;
  const jobs = new Set(d.fleet.map((n) => n.jobId).filter(Boolean));
  const figures: Figure[] = [
    { key: 'fleet_nodes', label: 'Nodes', value: d.fleet.length },
    { key: 'fleet_located', label: 'Located', value: located.length },
    { key: 'fleet_jobs', label: 'Bacalhau jobs', value: jobs.size },
    { key: 'fleet_executions', label: 'Executions', value: d.fleet.reduce((s, n) => s + n.executions, 0) },
    { key: 'fleet_records', label: 'Records processed', value: d.fleet.reduce((s, n) => s + n.records, 0), text: count(d.fleet.reduce((s, n) => s + n.records, 0)) },
  ];
  const title = 'The fleet: where processing happens';
  const sub = 'Each node at the city of its identity file (not its sensors), sized by records processed; the cloud-only baseline processes centrally';
  if (d.fleet.length === 0) return figureHtml('fleet', title, sub, 0, emptyPlot(f, 'No enriched records yet: node identities arrive with stage 3'), figures);
  const pts = [...located.map((n) => ({ lat: n.lat!, lon: n.lon! })), ...(central ? [central] : [])];
  const [x0, x1] = xRange(f);
  const [yb, yt] = yRange(f);
  let lonLo = Math.min(...pts.map((p) => p.lon)), lonHi = Math.max(...pts.map((p) => p.lon));
  let latLo = Math.min(...pts.map((p) => p.lat)), latHi = Math.max(...pts.map((p) => p.lat));
  const pad = Math.max(4, (lonHi - lonLo) * 0.08, (latHi - latLo) * 0.12);
  [lonLo, lonHi, latLo, latHi] = [lonLo - pad, lonHi + pad, latLo - pad, latHi + pad];
  // Equal degrees per pixel on both axes (plain equirectangular), fitted around the points.
  const scale = Math.min((x1 - x0) / (lonHi - lonLo), (yb - yt) / (latHi - latLo));
  const cx = (lonLo + lonHi) / 2, cy = (latLo + latHi) / 2;
  const X = (lon: number) => (x0 + x1) / 2 + (lon - cx) * scale;
  const Y = (lat: number) => (yb + yt) / 2 - (lat - cy) * scale;
  const lonMin = cx - (x1 - x0) / 2 / scale, lonMax = cx + (x1 - x0) / 2 / scale;
  const latMin = cy - (yb - yt) / 2 / scale, latMax = cy + (yb - yt) / 2 / scale;
  const parts: string[] = [`<rect class="sea" x="${x0}" y="${yt}" width="${px(x1 - x0)}" height="${px(yb - yt)}"/>`];
  const hemi = (v: number, pos: string, neg: string) => `${Math.abs(Math.round(v))}°${v >= 0 ? pos : neg}`;
  for (const lon of niceTicks(lonMin, lonMax, 8).filter((v) => v > lonMin && v < lonMax)) {
    parts.push(`<line class="graticule" x1="${px(X(lon))}" x2="${px(X(lon))}" y1="${yt}" y2="${yb}"/><text class="tick" x="${px(X(lon))}" y="${px(yb + 14)}" text-anchor="middle">${hemi(lon, 'E', 'W')}</text>`);
  }
  for (const lat of niceTicks(latMin, latMax, 5).filter((v) => v > latMin && v < latMax)) {
    parts.push(`<line class="graticule" x1="${x0}" x2="${x1}" y1="${px(Y(lat))}" y2="${px(Y(lat))}"/><text class="tick" x="${px(x0 - 4)}" y="${px(Y(lat) + 4)}" text-anchor="end">${hemi(lat, 'N', 'S')}</text>`);
  }
  const maxRecords = Math.max(1, ...located.map((n) => n.records));
  const radius = (n: FleetNode) => 5 + 7 * Math.sqrt(n.records / maxRecords);
  const points: LabelPoint[] = located.map((n) => ({ x: X(n.lon!), y: Y(n.lat!), r: radius(n), text: `${n.city} · ${n.node}` }));
  if (central) points.push({ x: X(central.lon), y: Y(central.lat), r: 7, text: `${central.name} · cloud-only` });
  for (const [i, n] of located.entries()) {
    const p = points[i];
    parts.push(
      `<circle class="mark node" cx="${px(p.x)}" cy="${px(p.y)}" r="${px(p.r)}" fill="${LOCATION_COLORS.edge}" fill-opacity="0.85" stroke="#fff" stroke-width="1.5">` +
        `<title>${esc(`${n.node} · ${n.city}, ${n.country} · ${n.datacenter} (${n.region}) · ${n.nodeType}: ${count(n.records)} records, ${n.alerts} alerts`)}</title></circle>`,
    );
  }
  if (central) {
    const p = points[points.length - 1];
    parts.push(`<rect class="mark central" x="${px(p.x - 6)}" y="${px(p.y - 6)}" width="12" height="12" transform="rotate(45 ${px(p.x)} ${px(p.y)})" fill="${LOCATION_COLORS.cloud}"><title>${esc(`cloud-only baseline: central processing in ${central.name}`)}</title></rect>`);
  }
  const labels = placeLabels(points, { x: x0, y: yt, w: x1 - x0, h: yb - yt }, FONT);
  for (const [i, l] of labels.entries()) {
    if (l.leader) parts.push(`<line class="leader" x1="${px(l.leader.x1)}" y1="${px(l.leader.y1)}" x2="${px(l.leader.x2)}" y2="${px(l.leader.y2)}"/>`);
    const b = l.box;
    parts.push(`<text class="place" data-label-box="${px(b.x)},${px(b.y)},${px(b.w)},${px(b.h)}" x="${px(l.x)}" y="${px(l.y)}" text-anchor="${l.anchor}">${esc(points[i].text)}</text>`);
  }
  const svg = svgOpen(f, title) + parts.join('') + '</svg>';
  const leg = legend([
    { label: 'edge node (processing at the source)', color: LOCATION_COLORS.edge, shape: 'dot' },
    { label: 'central region of the cloud-only baseline', color: LOCATION_COLORS.cloud },
  ]);
  const unplaced = d.fleet.length - located.length;
  const note = unplaced > 0 ? `${unplaced} node(s) name a city the map does not know; they are in the table.` : '';
  return figureHtml('fleet', title, sub, located.length, svg + leg + fleetTable(d.fleet), figures, esc(note));
}

/** Every node as a table row. */
function fleetTable(nodes: readonly FleetNode[]): string {
  const ms = (v: number | null) => (v === null ? '–' : duration(v));
  const hw = (n: FleetNode) => [n.cpuCores === null ? '' : `${n.cpuCores} cpu`, n.memoryGb === null ? '' : `${n.memoryGb} GB`, n.gpuCount ? `${n.gpuCount} gpu` : ''].filter(Boolean).join(' · ');
  const head = ['node', 'city', 'datacenter', 'type', 'hardware', 'job · executions', 'records', 'lake p50', 'alerts', 'alert p50'];
  const body = nodes
    .map(
      (n) =>
        `<tr><td>${esc(n.node)}</td><td>${esc(n.city ? `${n.city}, ${n.country}` : '–')}</td><td>${esc(n.datacenter ? `${n.datacenter} (${n.region})` : '–')}</td><td>${esc(n.nodeType || '–')}</td>` +
        `<td>${esc(hw(n) || '–')}</td><td title="${esc(n.jobId)}">${esc(n.jobId ? `${n.jobId.slice(0, 10)}… · ${n.executions}` : '(no job id)')}</td>` +
        `<td class="num">${count(n.records)}</td><td class="num">${ms(n.lakeP50)}</td><td class="num">${count(n.alerts)}</td><td class="num">${ms(n.alertP50)}</td></tr>`,
    )
    .join('');
  return `<table class="data"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>`;
}
