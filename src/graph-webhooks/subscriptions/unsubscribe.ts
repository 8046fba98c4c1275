/**
 * Deleting a mailbox deletes its Graph subscription first, under the
 * subscription lock so that no ensure job creates a new one in between. A
 * failed DELETE at Graph does not keep the mailbox: the subscription then
 * expires on its own and its notifications are dropped as unknown.
 */
import { loadMailbox, mailboxIdByName } from '../../mailboxes/repository.ts'
import { GraphConnection } from '../../providers/graph/connection.ts'
import type { AppContext } from '../../context.ts'
import { deleteSubscription } from './graph-api.ts'
import { getSubscription, withSubscriptionLock } from './repository.ts'
import { bareError } from '../../shared/errors.ts'
import { connectionTokens } from '../../oauth/connections/access-tokens.ts'

export async function deleteWithSubscription (ctx: AppContext, name: string, deleteMailbox: () => Promise<void>): Promise<void> {
  const id = await mailboxIdByName(ctx.pool, name)
  await withSubscriptionLock(ctx.pool, id, true, async () => {
    const row = await getSubscription(ctx.pool, id)
    if (row?.subscription_id != null) {
      try {
        const mailbox = await loadMailbox(ctx.pool, ctx.keyring, id)
        if (mailbox?.spec.graph !== undefined) {
          await deleteSubscription(new GraphConnection(mailbox.spec.graph, undefined, connectionTokens(ctx, id)), row.subscription_id)
        }
      } catch (err) {
        ctx.log.warn({ mailbox: name, err: bareError(err) }, 'graph subscription not deleted: it expires on its own')
      }
    }
    await deleteMailbox()
  })
}
