/** The parse thread of parse-lane.ts: a batch's bytes in, each email's parse (or its failure) out, LANE_REPLY_EMAILS at a time. */
import { parentPort } from 'node:worker_threads'
import { parseEmail } from './parse.ts'
import { LANE_REPLY_EMAILS, type LaneReply, type LaneResult, type LaneTask } from './parse-lane.ts'
import { errorMessage } from '../shared/errors.ts'

/** One batch at a time, in the order they came: the next waits rather than interleaving with this one. */
let queue: Promise<void> = Promise.resolve()
parentPort?.on('message', (task: LaneTask) => { queue = queue.then(async () => { await parseBatch(task) }) })

async function parseBatch ({ id, bytes, lengths, opts }: LaneTask): Promise<void> {
  let results: LaneResult[] = []
  let from = 0
  let offset = 0
  for (const [i, length] of lengths.entries()) {
    try {
      results.push(await parseEmail(Buffer.from(bytes, offset, length), opts[i]))
    } catch (err) {
      results.push({ laneError: errorMessage(err) })
    }
    offset += length
    if (results.length === LANE_REPLY_EMAILS || i === lengths.length - 1) {
      parentPort?.postMessage({ id, from, results } satisfies LaneReply)
      from += results.length
      results = []
    }
  }
}
