import { describe, expect, it } from "vitest";
import { z } from "zod";
import { controlCharacterIn, hasLineBreak } from "@/lib/cron/text";
import { HttpError } from "@/lib/http/errors";
import { oneLine, parseWith, refuseControlCharacters } from "@/lib/http/parse";

/** The one rule for control characters in text inputs, and its check over a whole body or query. */

const refusal = (value: unknown, where: "body" | "query" = "body"): HttpError => {
  try {
    refuseControlCharacters(value, where);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
};

describe("control characters", () => {
  it("names NUL, the other C0 controls and DEL, and lets TAB, LF, CR and any other text through", () => {
    for (let code = 0; code < 0x20; code++) {
      const char = String.fromCharCode(code);
      expect(controlCharacterIn(`a${char}b`), `U+${code.toString(16)}`).toBe(code === 9 || code === 10 || code === 13 ? null : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`);
    }
    expect(controlCharacterIn("\u007f")).toBe("U+007F");
    expect(controlCharacterIn("Grüße, 東京, emoji 🚀, \u00a0nbsp, \u200bzero-width")).toBeNull();
    expect(hasLineBreak("a\tb")).toBe(true);
    expect(hasLineBreak("a b")).toBe(false);
  });

  it("names the field by its path, a field name's parent, or the place", () => {
    expect(refusal({ note: "x\u0000" })).toMatchObject({ status: 400, code: "invalid_body", details: { field: "note" } });
    expect(refusal({ a: [{ b: "ok" }, { c: "\u001b[2J" }] }).details).toEqual({ field: "a.1.c" });
    expect(refusal({ outer: { "bad\u0000key": 1 } }).details).toEqual({ field: "outer" });
    expect(refusal("\u0000", "query")).toMatchObject({ code: "invalid_query", details: { field: "query" } });
    expect(refusal({ note: "x\u0000" }).message).toBe("note: the value contains the control character U+0000; send text without control characters.");
    expect(() => refuseControlCharacters({ n: 1, b: true, x: null, s: "fine\nlines", list: ["a", 2] }, "body")).not.toThrow();
  });

  it("checks a body nested 30,000 deep without overflowing the stack, and cuts a long path", () => {
    let deep: unknown = "\u0000";
    for (let i = 0; i < 30_000; i++) deep = [deep];
    const t0 = Date.now();
    const error = refusal(deep);
    expect(Date.now() - t0).toBeLessThan(2_000);
    const field = (error.details as { field: string }).field;
    expect(field.length).toBeLessThanOrEqual(101);
    expect(field).toMatch(/^0\.0\.0.*…$/);
  });

  it("runs before the schema in parseWith, and oneLine refuses line breaks", () => {
    const schema = z.strictObject({ note: oneLine(z.string().max(10)) });
    expect(() => parseWith(schema, { note: "\u0000".repeat(50) }, "body")).toThrow(/^note: the value contains the control character U\+0000/);
    expect(() => parseWith(schema, { note: "a\nb" }, "body")).toThrow(/^note: must be one line/);
    expect(parseWith(schema, { note: "one line" }, "body")).toEqual({ note: "one line" });
  });
});
