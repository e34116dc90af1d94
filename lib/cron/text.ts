/**
 * What text an operator may send (notes, reasons, searches, names), decided once for the API
 * (lib/http/parse.ts) and the dashboard's address bar (lib/dashboard/params.ts).
 *
 * Refused everywhere: NUL, which Postgres text and jsonb cannot store (the statement fails,
 * which answered 500, after part of the work), and the other C0 controls but TAB, LF and CR,
 * and DEL: invisible on the dashboard, and able to rewrite the terminal where `crondeck` prints
 * notes and reasons (ESC sequences). Line breaks are text in a note or a reason; a one-line
 * field (a search, a name, a pause note) refuses TAB, LF and CR too.
 */
const CONTROL_CHARACTER_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LINE_BREAK_RE = /[\t\n\r]/;

/** The first control character no text takes, as U+XXXX, or null. */
export function controlCharacterIn(value: string): string | null {
  const found = CONTROL_CHARACTER_RE.exec(value);
  return found ? `U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}` : null;
}

/** True when `value` has a TAB, LF or CR (which a one-line field refuses). */
export const hasLineBreak = (value: string): boolean => LINE_BREAK_RE.test(value);
