import { E2E_STATE_KEY, type E2EState } from "./state";

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as Record<symbol, E2EState | undefined>;
  const state = holder[E2E_STATE_KEY];
  if (!state) return;
  holder[E2E_STATE_KEY] = undefined;
  const code = await state.server.stop();
  if (process.env.CRONDECK_E2E_SERVER_LOG === "1" || (code !== 0 && code !== null)) console.log(state.server.output());
  await state.database.dispose();
}
