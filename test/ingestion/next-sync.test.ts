/** The next sync of a mailbox that synced fine: its poll interval, unless its provider kind has a hook. */
import t from 'tap'
import { nextSyncSeconds, registerNextSyncHook } from '../../src/ingestion/next-sync.ts'
import type { Mailbox } from '../../src/mailboxes/types.ts'
import type { AppContext } from '../../src/context.ts'

const ctx = {} as AppContext
const mailbox = (provider: 'imap' | 'graph'): Mailbox => ({ id: 1, spec: { name: provider, provider }, cursor: null }) as Mailbox

t.test('the poll interval without a hook; the hook of its own kind with one', async t => {
  t.equal(await nextSyncSeconds(ctx, mailbox('graph'), 60), 60)
  registerNextSyncHook('graph', async (_ctx, _m, pollSeconds) => pollSeconds * 10)
  t.equal(await nextSyncSeconds(ctx, mailbox('graph'), 60), 600)
  t.equal(await nextSyncSeconds(ctx, mailbox('imap'), 60), 60, 'another kind keeps its interval')
})
