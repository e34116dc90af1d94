/** The read side: every query the admin API, the dashboard, the CLI and the tick read through, with typed rows. */
export * from "../admin-queries";
export { listDeadLetters, getDeadLetter, deadLetterSummary, type DeadLetterEntry } from "../dead-letters";
export { listAudit, type AuditEntry } from "../audit";
