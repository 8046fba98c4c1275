/** A context whose pool counts the statements sent through it and through the clients it hands out. */
import type { AppContext } from '../../src/context.ts'
import type { Pool } from '../../src/db/pool.ts'

export function counted (ctx: AppContext): { ctx: AppContext, statements: () => number } {
  let n = 0
  const counting = <T extends object>(target: T): T => new Proxy(target, {
    get (obj, prop) {
      const value = Reflect.get(obj, prop, obj) as unknown
      if (typeof value !== 'function') return value
      if (prop === 'query') return (...args: unknown[]) => { n++; return value.apply(obj, args) }
      if (prop === 'connect') return async () => counting(await value.apply(obj, []))
      return value.bind(obj)
    }
  })
  return { ctx: { ...ctx, pool: counting(ctx.pool as Pool) }, statements: () => n }
}
