export { AlertRouter, ALERT_CURSOR, POLL_ROWS, POLL_MIN_MS, POLL_MAX_MS, type AlertRouterOptions, type AlertStats } from './router.ts';
export { AlertThread, type AlertThreadData } from './thread.ts';
export { AlertDetector, DETECTOR_COLUMNS, type DetectorOptions } from './detector.ts';
export { AlertOutbox, type AlertCursor, type QueuedAlert } from './outbox.ts';
export { WebhookDelivery, WEBHOOK_BATCH, RETRY_BASE_MS, RETRY_MAX_MS, POST_TIMEOUT_MS, type WebhookStats } from './webhook.ts';
export { ALERT_DEFAULTS, alertConfig, type AlertConfig, type AlertSettings } from './options.ts';
export { encodeAlert, type Detection, type SourceRow } from './record.ts';
export { priorityCode, priorityName, parsePriority, reasonNames, type PriorityName } from './priority.ts';
