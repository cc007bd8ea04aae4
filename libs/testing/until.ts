/**
 * Polls until `condition` holds and resolves with how long that took, in milliseconds;
 * fails naming `what` after `timeoutMs`. Tests measure deadlines (TTL + 1 s) with it.
 */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - start;
}
