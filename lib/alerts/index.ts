/** Alerts: what Crondeck tells people when a job fails, and where. */
export type { AlertChannel, AlertEvent, AlertKind, AlertOutcome, AlertRouting } from "./types";
export { AlertDispatcher, type AlertDispatcherOptions } from "./dispatcher";
export { alertChannelsFromEnv, type AlertChannelsOptions } from "./channels";
export { SlackChannel, type SlackChannelOptions } from "./slack";
export { EmailChannel, parseAddressList, type EmailChannelOptions } from "./email";
export { WebhookChannel, signWebhook, standardWebhookSecret, webhookMessageId, webhookPayload, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, type WebhookChannelOptions, type WebhookPayload } from "./webhook";
export { alertFacts, describeKind, formatAlertSubject, formatAlertText, formatSlackBlocks } from "./format";
export { redactAlertError } from "./redact";
