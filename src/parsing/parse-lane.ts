/**
 * A second lane for parsing: one worker thread that parses batches of small
 * emails while the event loop does everything else (fetching, storing,
 * routing, recording, and parsing what the lane was not given). Parsing is
 * most of email-handle's work: on the event loop alone it would keep one core
 * busy while the other, after the fetches, has little to do.
 *
 * The lane takes a batch only while it holds fewer than LANE_DEPTH, so the
 * event loop never waits for work it could do itself, and a batch's bytes
 * travel in one buffer moved to the thread (not one copy per email). Parses
 * come back LANE_REPLY_EMAILS at a time, so the event loop routes and handles
 * the first emails of a batch while the thread parses the rest. If the
 * thread fails, what it held is parsed on the event loop instead (the
 * callers fall back on a rejected promise) and the next batch starts a new one.
 */
import os from 'node:os'
import { Worker } from 'node:worker_threads'
import type { ParseOptions } from './parse.ts'
import type { ParsedEmail, ParseRejection } from './types.ts'

/** Batches the lane holds at once: one being parsed, one waiting, so the thread never waits for the event loop. */
export const LANE_DEPTH = 2
/** Emails larger than this are parsed on the event loop, in chunks (parse-stored.ts): the lane is for the many small ones. */
export const LANE_EMAIL_BYTES = 256 * 1024
/** Parses per reply: the event loop need not wait for a whole batch to handle its first emails. */
export const LANE_REPLY_EMAILS = 10

/** A parse failure inside the lane: the email is parsed again on the event loop, where the error is handled as usual. */
export interface LaneFailure { laneError: string }
export type LaneResult = ParsedEmail | ParseRejection | LaneFailure

export interface LaneTask { id: number, bytes: ArrayBuffer, lengths: number[], opts: ParseOptions[] }
/** The parses of a task's emails `from` on. */
export interface LaneReply { id: number, from: number, results: LaneResult[] }

export interface ParseLane {
  /** The parse of each input, if the lane takes them now; undefined: parse them on the event loop. */
  offer: (inputs: Buffer[], opts: ParseOptions[]) => Array<Promise<LaneResult>> | undefined
  close: () => Promise<void>
}

export const isLaneFailure = (r: LaneResult): r is LaneFailure => 'laneError' in r

interface Settle { resolve: (r: LaneResult) => void, reject: (err: Error) => void }

/** A lane where there is a second core to run it on; on one core, a lane that never takes anything. */
export function createParseLane (enabled = os.availableParallelism() > 1): ParseLane {
  let worker: Worker | undefined
  let nextId = 0
  /** Per batch held, each email's settlement, until its parse is in. */
  const pending = new Map<number, Array<Settle | undefined>>()

  const failAll = (err: Error): void => {
    worker = undefined
    for (const emails of pending.values()) for (const e of emails) e?.reject(err)
    pending.clear()
  }
  const start = (): Worker => {
    if (worker !== undefined) return worker
    const w = new Worker(new URL('./parse-lane-worker.ts', import.meta.url))
    w.unref() // an idle lane does not keep the process alive
    w.on('message', ({ id, from, results }: LaneReply) => {
      const emails = pending.get(id)
      if (emails === undefined) return
      for (const [i, r] of results.entries()) {
        emails[from + i]?.resolve(revive(r))
        emails[from + i] = undefined
      }
      if (from + results.length === emails.length) pending.delete(id) // the replies come in order: that was the last
    })
    w.on('error', failAll)
    w.on('exit', (code) => { if (worker === w) failAll(new Error(`the parse thread exited (code ${code})`)) })
    worker = w
    return w
  }

  return {
    offer (inputs, opts) {
      if (!enabled || inputs.length === 0 || pending.size >= LANE_DEPTH) return undefined
      const all = Buffer.concat(inputs)
      // an ArrayBuffer of its own to move: Buffer.concat may return a view into a shared pool
      const whole = all.byteOffset === 0 && all.byteLength === all.buffer.byteLength
      const bytes = (whole ? all.buffer : all.buffer.slice(all.byteOffset, all.byteOffset + all.length)) as ArrayBuffer
      const id = nextId++
      const emails: Array<Settle | undefined> = []
      const parses = inputs.map((_, i) => new Promise<LaneResult>((resolve, reject) => { emails[i] = { resolve, reject } }))
      pending.set(id, emails)
      start().postMessage({ id, bytes, lengths: inputs.map(i => i.length), opts } satisfies LaneTask, [bytes])
      return parses
    },
    async close () {
      const w = worker
      worker = undefined
      failAll(new Error('the parse lane was closed'))
      await w?.terminate()
    }
  }
}

/** Attachment contents come back as Uint8Arrays: Buffers again, without a copy. */
function revive (r: LaneResult): LaneResult {
  if ('attachments' in r) for (const a of r.attachments) a.content = Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength)
  return r
}
