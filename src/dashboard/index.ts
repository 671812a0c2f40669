export { buildDashboard, readBaselineParameters, type BuildDashboardOptions, type BuiltDashboard } from './build.ts';
export { collectDashboardData, REPORT_SQL, PRIORITIES, type DashboardData, type DashboardDataOptions, type StageVolume, type SuccessMetric } from './data.ts';
export { renderDashboardHtml, type RenderOptions } from './html.ts';
export { STAGE_COLORS, PRIORITY_COLORS } from './figure.ts';
export { serveDashboard, type DashboardServer, type ServeOptions } from './serve.ts';
