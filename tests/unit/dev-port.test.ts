import { describe, expect, it } from "vitest";
import { devPort } from "@/lib/dev/dev-state";

/** `npm run dev` on another port: every way of saying it gives the banner, the scheduler and the dev state the same port. */
describe("devPort", () => {
  it.each([
    [["-p", "4000"], undefined],
    [["--port", "4000"], undefined],
    [["--port=4000"], undefined],
    [["-p4000"], undefined],
    [[], 4000],
    [[], "4000"],
    [["-p", "4000"], 5000], // the command line wins over PORT, as with next dev
  ] as const)("%j with PORT=%s is port 4000, passed to next dev explicitly", (args, env) => {
    expect(devPort(args, env)).toEqual({ port: 4000, nextArgs: ["--port", "4000"] });
  });

  it("defaults to 3000, keeps the other arguments, and the last port given wins", () => {
    expect(devPort([], undefined)).toEqual({ port: 3000, nextArgs: ["--port", "3000"] });
    expect(devPort([], "")).toEqual({ port: 3000, nextArgs: ["--port", "3000"] });
    expect(devPort(["--turbopack", "-p", "4000", "-H", "127.0.0.1", "--port=4100"], undefined)).toEqual({ port: 4100, nextArgs: ["--port", "4100", "--turbopack", "-H", "127.0.0.1"] });
  });

  it("refuses what is not a port, naming the fix", () => {
    expect(() => devPort(["-p"], undefined)).toThrow("-p needs a port number, e.g. npm run dev -- -p 4000");
    expect(() => devPort(["--port", "abc"], undefined)).toThrow('port "abc" is not a port number (1-65535)');
    expect(() => devPort(["-p", "70000"], undefined)).toThrow(/not a port number/);
    expect(() => devPort([], "x1")).toThrow('port "x1" (PORT) is not a port number');
  });
});
