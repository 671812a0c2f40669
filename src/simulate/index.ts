export { simulate } from './simulate.ts';
export { SIMULATE_DEFAULTS, type SimulateOptions, type SimulateSummary } from './options.ts';
export { CITIES, type City } from './cities.ts';
export { ANOMALY_TYPES, type AnomalyType } from './generator.ts';
export { INVALID_KINDS, type InvalidKind } from './invalid.ts';
