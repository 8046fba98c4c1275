/** Registers the Graph provider (called by the worker role at start). */
import { registerProvider } from '../index.ts'
import { GraphProvider } from './provider.ts'

export function registerGraphProvider (requestTimeoutMs?: number): void {
  registerProvider('graph', (m, tokens) => {
    if (m.spec.graph === undefined) throw new Error(`mailbox "${m.spec.name}" has no graph settings`)
    return new GraphProvider(m.spec.graph, m.spec.afterDelivery ?? 'seen', requestTimeoutMs, tokens)
  })
}
