/** Replay: handle a stored email again. Handlers are idempotent by email id, so a replay never doubles an effect. */
import type { AppContext } from '../context.ts'
import { send } from '../queue/boss.ts'
import { resetForReplay } from './repository.ts'

export async function replayEmail (ctx: Pick<AppContext, 'pool' | 'boss'>, id: number): Promise<void> {
  await resetForReplay(ctx.pool, id)
  await send(ctx.boss, 'email-handle', { emailIds: [id] })
}
