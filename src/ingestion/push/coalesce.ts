/**
 * `fn` behind a trigger that folds calls made while it runs into one more run
 * after it: a burst of triggers makes at most two runs, and the last trigger
 * is always followed by a run that started after it.
 */
export function coalesced (fn: () => Promise<void>, onError: (err: unknown) => void): () => void {
  let running = false
  let again = false
  const loop = async (): Promise<void> => {
    running = true
    do {
      again = false
      await fn().catch(onError)
    } while (again)
    running = false
  }
  return () => {
    if (running) again = true
    else void loop()
  }
}
