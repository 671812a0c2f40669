export { AlertPath, POLL_ROWS, POLL_MIN_MS, POLL_MAX_MS, type AlertPathOptions, type AlertStats } from './path.ts';
export { AlertDetector, DETECTOR_COLUMNS, type DetectorOptions } from './detector.ts';
export { AlertOutbox, type DetectorSnapshot, type QueuedDelivery, type StoredAlert } from './outbox.ts';
export { EmergencyUploader, EMERGENCY_CHUNK } from './emergency.ts';
export { WebhookDelivery, WEBHOOK_BATCH, RETRY_BASE_MS, RETRY_MAX_MS, type WebhookStats } from './webhook.ts';
export { postJson, MAX_RESPONSE_BYTES, CONNECT_TIMEOUT_MS, POST_DEADLINE_MS, type PostResult } from './post.ts';
export { ALERT_DEFAULTS, alertConfig, type AlertConfig, type AlertSettings } from './options.ts';
export { encodeAlerts, type AlertToEncode, type AlertStamps, type Detection } from './record.ts';
export { priorityCode, priorityName, parsePriority, reasonNames, type PriorityName } from './priority.ts';
