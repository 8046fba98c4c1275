/**
 * The shared secret of GitLab's mail_room API, read from the file GitLab
 * reads (`incoming_email.secret_file` / `service_desk_email.secret_file`).
 *
 * Format, as GitLab's JwtAuthenticatable#read_secret checks it: the strict
 * base64 of exactly 32 bytes, with at most one trailing line break (Ruby's
 * `chomp`). GitLab refuses any other length, so mailslot does too, up front,
 * with a message that names the file and never its content.
 *
 * The decoded secret is cached per path; the file is looked at again (stat)
 * at most once a second and re-read when it changed, so a rotated secret is
 * picked up without a restart.
 */
import { readFile, stat } from 'node:fs/promises'
import { errorCode, errorMessage } from '../../shared/errors.ts'

export const SECRET_BYTES = 32
const RECHECK_MS = 1000
/** A secret file is ~45 bytes: anything much larger is the wrong file. */
const MAX_FILE_BYTES = 1024
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

interface Entry { checkedAt: number, stamp: string, secret: Uint8Array<ArrayBuffer> }
const cache = new Map<string, Entry>()

/** The decoded secret of `file`; a permanent Error naming the file when it is missing, unreadable or malformed. */
export async function gitlabSecret (file: string, now = Date.now()): Promise<Uint8Array<ArrayBuffer>> {
  const hit = cache.get(file)
  if (hit !== undefined && now - hit.checkedAt < RECHECK_MS) return hit.secret
  const info = await stat(file).catch((err: unknown) => { throw unreadable(file, err) })
  if (!info.isFile()) throw secretError(file, 'is not a regular file')
  if (info.size > MAX_FILE_BYTES) throw secretError(file, `is ${info.size} bytes long: not a secret file`)
  const stamp = `${info.ino}:${info.size}:${info.mtimeMs}`
  if (hit !== undefined && hit.stamp === stamp) {
    hit.checkedAt = now
    return hit.secret
  }
  const text = await readFile(file, 'latin1').catch((err: unknown) => { throw unreadable(file, err) })
  const secret = decodeSecret(file, text)
  cache.set(file, { checkedAt: now, stamp, secret })
  return secret
}

/** GitLab's read_secret: chomp, strict base64, exactly SECRET_BYTES bytes. */
export function decodeSecret (file: string, text: string): Uint8Array<ArrayBuffer> {
  const body = text.replace(/(?:\r\n|\n|\r)$/, '')
  if (!STRICT_BASE64.test(body)) throw secretError(file, 'does not hold base64 (one line, padded, nothing else)')
  const secret = Buffer.from(body, 'base64')
  if (secret.length !== SECRET_BYTES) throw secretError(file, `must hold the base64 of exactly ${SECRET_BYTES} bytes (GitLab checks this too), it holds ${secret.length}`)
  return new Uint8Array(secret)
}

function secretError (file: string, problem: string): Error {
  return new Error(`GitLab secret file ${file} ${problem}`)
}

function unreadable (file: string, err: unknown): Error {
  return secretError(file, `cannot be read (${errorCode(err) ?? errorMessage(err)})`)
}
