/** The parse thread of parse-lane.ts: a batch's bytes in, each email's parse (or its failure) out. */
import { parentPort } from 'node:worker_threads'
import { parseEmail } from './parse.ts'
import type { LaneReply, LaneResult, LaneTask } from './parse-lane.ts'

parentPort?.on('message', async ({ id, bytes, lengths, opts }: LaneTask) => {
  const results: LaneResult[] = []
  let offset = 0
  for (const [i, length] of lengths.entries()) {
    try {
      results.push(await parseEmail(Buffer.from(bytes, offset, length), opts[i]))
    } catch (err) {
      results.push({ laneError: (err as Error).message })
    }
    offset += length
  }
  parentPort?.postMessage({ id, results } satisfies LaneReply)
})
