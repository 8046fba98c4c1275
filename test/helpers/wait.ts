/** Polls `check` until it returns a truthy value or the time is up. */
export async function waitFor<T> (
  check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000, everyMs = 50
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== null && v !== false) return v
    } catch (err) { last = err }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
