// The parse lane: the same parses as the event loop's, batches refused when
// it holds enough, and a failed or closed lane costs no email its parse.
import t from 'tap'
import { MAX_ATTACHMENT_BYTES, parseEmail, type ParseOptions } from '../../src/parsing/parse.ts'
import { LANE_DEPTH, LANE_EMAIL_BYTES, LANE_REPLY_EMAILS, createParseLane, type ParseLane } from '../../src/parsing/parse-lane.ts'
import { batchParses } from '../../src/inbound/parse-stored.ts'
import type { Mailbox } from '../../src/mailboxes/types.ts'
import type { ParsedEmail } from '../../src/parsing/types.ts'
import { corpusFiles, loadRaw } from '../helpers/corpus.ts'
import { makeEmail } from '../helpers/emails.ts'

const opts = (checksum: string): ParseOptions => ({ maxAttachmentBytes: MAX_ATTACHMENT_BYTES, checksum })
const stored = (id: number, raw: Buffer) => ({ id, raw, checksum: `sum-${id}` })
const builtin = { spec: { delivery: { kind: 'builtin' } } } as unknown as Mailbox
const gitlab = { spec: { delivery: { kind: 'gitlab' } } } as unknown as Mailbox

t.test('the lane parses every corpus email exactly as the event loop does, attachments included', async t => {
  const lane = createParseLane(true)
  t.teardown(lane.close)
  const files = corpusFiles()
  const raws = files.map(f => loadRaw(f))
  raws.push(Buffer.alloc(0), Buffer.from('not an email at all\r\n'))
  const offered = lane.offer(raws, raws.map((_, i) => opts(`c${i}`)))
  t.ok(offered !== undefined, 'an idle lane takes a batch')
  const results = await Promise.all(offered ?? [])
  for (const [i, raw] of raws.entries()) {
    const inline = await parseEmail(raw, opts(`c${i}`))
    t.same(results?.[i], inline, files[i] ?? `input ${i}`)
    const attachments = 'attachments' in inline ? inline.attachments : []
    for (const [j, a] of attachments.entries()) {
      const back = (results?.[i] as ParsedEmail).attachments[j].content
      t.ok(Buffer.isBuffer(back) && back.equals(a.content), `attachment ${j} of ${files[i]} comes back as the same bytes`)
    }
  }
})

t.test(`the lane holds at most ${LANE_DEPTH} batches; past that the event loop parses`, async t => {
  const lane = createParseLane(true)
  t.teardown(lane.close)
  const batch = [makeEmail(1)]
  const held = Array.from({ length: LANE_DEPTH }, () => lane.offer(batch, [opts('x')]))
  t.ok(held.every(p => p !== undefined), `${LANE_DEPTH} batches taken`)
  t.equal(lane.offer(batch, [opts('x')]), undefined, 'one more is refused')
  await Promise.all(held.flatMap(parses => parses ?? []))
  const again = lane.offer(batch, [opts('x')])
  t.ok(again, 'taken again once the lane has answered')
  await Promise.all(again ?? [])
  t.equal(lane.offer([], []), undefined, 'nothing to parse: nothing taken')
  t.equal(createParseLane(false).offer(batch, [opts('x')]), undefined, 'a disabled lane (one core) takes nothing')
})

t.test('closing the lane fails what it held; the next batch starts a new thread', async t => {
  const lane = createParseLane(true)
  t.teardown(lane.close)
  const held = t.rejects((lane.offer([makeEmail(2)], [opts('x')]) ?? [])[0], /closed/)
  await lane.close()
  await held
  const again = await Promise.all(lane.offer([makeEmail(3)], [opts('y')]) ?? [])
  t.match(again[0], { subject: /./, checksum: 'y' })
})

t.test(`parses come back ${LANE_REPLY_EMAILS} at a time: the first are in while the last are still being parsed`, async t => {
  const lane = createParseLane(true)
  t.teardown(lane.close)
  const raws = Array.from({ length: 3 * LANE_REPLY_EMAILS }, (_, i) => makeEmail(i))
  const parses = lane.offer(raws, raws.map((_, i) => opts(`s${i}`))) ?? []
  let lastIn = false
  void parses[parses.length - 1].then(() => { lastIn = true })
  const first = await parses[0]
  t.match(first, { checksum: 's0' })
  // had both come in one reply, the last one's reaction would run within these
  // microtask turns; a later reply is a later task, after all of them
  for (let turn = 0; turn < 10; turn++) await null
  t.equal(lastIn, false, 'the first parse came in a reply before the last one\'s')
  const all = await Promise.all(parses)
  t.same(all.map(r => 'checksum' in r ? r.checksum : r), raws.map((_, i) => `s${i}`), 'every parse, each for its own email')
})

t.test('the lane parses the batches it holds one after another, not interleaved', async t => {
  const lane = createParseLane(true)
  t.teardown(lane.close)
  const batch = Array.from({ length: 2 * LANE_REPLY_EMAILS }, (_, i) => makeEmail(i))
  const order: string[] = []
  const offer = (tag: string): Array<Promise<void>> =>
    (lane.offer(batch, batch.map((_, i) => opts(`${tag}${i}`))) ?? []).map(async p => { order.push(((await p) as ParsedEmail).checksum) })
  await Promise.all([...offer('a'), ...offer('b')])
  t.same(order, [...batch.map((_, i) => `a${i}`), ...batch.map((_, i) => `b${i}`)], 'every parse of the first batch before any of the second')
})

t.test('batchParses: small whole parses go to the lane; big ones, header-only ones and failures are parsed on the event loop', async t => {
  const offered: number[][] = []
  const recording = (answer: () => Promise<unknown>): ParseLane => ({
    offer: (inputs) => { offered.push(inputs.map(i => i.length)); return inputs.map(answer) as never },
    close: async () => {}
  })
  const small = stored(1, makeEmail(1))
  const big = stored(2, Buffer.concat([makeEmail(2), Buffer.alloc(LANE_EMAIL_BYTES, 'a')]))
  const headersOnly = stored(3, makeEmail(3))
  const broken = stored(4, makeEmail(4))
  const mailboxOf = (e: { id: number }): Mailbox | Error => e.id === 3 ? gitlab : e.id === 4 ? new Error('no key') : builtin

  // a lane that fails the whole batch: the email is parsed here, the same way
  const failing = batchParses(recording(async () => { throw new Error('thread died') }), [small, big, headersOnly, broken], mailboxOf)
  t.same(offered, [[small.raw.length]], 'only the small whole-parse email was offered')
  t.same(await failing(small, builtin), await parseEmail(small.raw, opts(small.checksum)), 'parsed on the event loop after the lane failed')
  const headers = await failing(headersOnly, gitlab)
  t.equal('text' in headers && headers.text, null, 'the gitlab delivery parses the header block only')
  t.match(await failing(big, builtin), { sizes: { raw: big.raw.length } }, 'a big email is parsed whole on the event loop')

  // a lane that could not parse one email: that one is parsed here
  const partly = batchParses(recording(async () => ({ laneError: 'odd' })), [small], mailboxOf)
  t.same(await partly(small, builtin), await parseEmail(small.raw, opts(small.checksum)))
})
