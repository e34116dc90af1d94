import { expect, it } from "vitest";
import { verifyCronAuthorization, verifyCronRequest } from "@/lib/auth/cron-secret";

const current = "current-secret-0123456789abcdef";
const previous = "previous-secret-0123456789abcdef";

it("accepts the current secret and, while rotating, the previous one", () => {
  expect(verifyCronAuthorization(`Bearer ${current}`, { current })).toEqual({ ok: true });
  expect(verifyCronAuthorization(`Bearer ${previous}`, { current, previous })).toEqual({ ok: true });
  expect(verifyCronAuthorization(`Bearer ${previous}`, { current })).toMatchObject({ ok: false, status: 401 });
});

it("refuses everything when no secret is configured", () => {
  expect(verifyCronAuthorization(`Bearer ${current}`, {})).toMatchObject({ ok: false, status: 503, code: "cron_secret_not_configured" });
  expect(verifyCronAuthorization("Bearer ", { current: "" })).toMatchObject({ ok: false, status: 503 });
});

it.each([
  null,
  "",
  current,
  `Basic ${current}`,
  `bearer ${current}`,
  `Bearer  ${current}`,
  `Bearer ${current} `,
  `Bearer ${current.slice(0, -1)}`,
  `Bearer ${current}x`,
  `Bearer ${current}, Bearer ${current}`,
  `Bearer ${"a".repeat(5000)}`,
])("refuses %j with 401", (header) => {
  expect(verifyCronAuthorization(header, { current, previous })).toMatchObject({ ok: false, status: 401, code: "unauthorized" });
});

it("checks a request's Authorization header against CRON_SECRET and CRON_SECRET_PREVIOUS", () => {
  const request = (authorization?: string) => new Request("http://localhost/api/cron/jobs", { headers: authorization ? { authorization } : {} });
  expect(verifyCronRequest(request(`Bearer ${previous}`), { CRON_SECRET: current, CRON_SECRET_PREVIOUS: previous })).toEqual({ ok: true });
  expect(verifyCronRequest(request(`Bearer ${previous}`), { CRON_SECRET: current })).toMatchObject({ ok: false, status: 401 });
  expect(verifyCronRequest(request(), { CRON_SECRET: current })).toMatchObject({ ok: false, status: 401, code: "unauthorized" });
  expect(verifyCronRequest(request(`Bearer ${current}`), {})).toMatchObject({ ok: false, status: 503, code: "cron_secret_not_configured" });
});
