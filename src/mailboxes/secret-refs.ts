/**
 * Secret references: `{file: PATH}` or `{env: NAME}` in place of a secret
 * value (a mailbox's REFERENCE_PATHS, an OAuth app's clientSecret), resolved once, where the spec is read (the
 * configuration file, `mailslot mailbox add`); only the value is stored.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { FieldError } from './schema.ts'
import { get, set, SECRET_PATHS } from './secrets.ts'
import { errorCode, errorMessage } from '../shared/errors.ts'

export interface RefSources {
  /** Relative `file` references are read from here. */
  baseDir: string
  env: Record<string, string | undefined>
}

type Ref = { file: string } | { env: string }

/**
 * Where a reference may stand: every secret, and the login user, which
 * GitLab's encrypted credentials keep beside the password (an imported
 * mail_room mailbox may have both as references). The user is stored as is.
 */
export const REFERENCE_PATHS: readonly string[] = [...SECRET_PATHS, 'imap.user', 'graph.user']

function isObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The reference at a secret path; a FieldError when it is an object but not a valid reference; undefined for a plain value. */
function refAt (spec: unknown, p: string): Ref | FieldError | undefined {
  const v = get(spec as Record<string, unknown>, p)
  if (!isObject(v)) return undefined
  const keys = Object.keys(v)
  if (keys.length === 1 && (keys[0] === 'file' || keys[0] === 'env') && typeof v[keys[0]] === 'string' && v[keys[0]] !== '') return v as Ref
  return { field: p, message: 'must be the value, {file: PATH} or {env: NAME}' }
}

/** The first path holding a reference (or something shaped like one), if any. */
export function firstSecretRef (spec: unknown, paths: readonly string[] = REFERENCE_PATHS): string | undefined {
  return paths.find(p => refAt(spec, p) !== undefined)
}

async function resolveRef (ref: Ref, src: RefSources): Promise<string> {
  if ('env' in ref) {
    const value = src.env[ref.env]
    if (value === undefined || value === '') throw new Error(`environment variable ${ref.env} is not set`)
    return value
  }
  const file = path.resolve(src.baseDir, ref.file)
  let text: string
  try { text = await readFile(file, 'utf8') } catch (err) { throw new Error(`cannot read ${file} (${errorCode(err) ?? errorMessage(err)})`) }
  // one trailing newline is how files are written, not part of the secret
  const value = text.replace(/\r?\n$/, '')
  if (value === '') throw new Error(`file ${file} is empty`)
  return value
}

/** A copy of `spec` with every reference replaced by its value, or the first field that cannot be resolved. */
export type Resolved = { ok: true, spec: unknown } | { ok: false, error: FieldError }

export async function resolveSecretRefs (spec: unknown, src: RefSources, paths: readonly string[] = REFERENCE_PATHS): Promise<Resolved> {
  if (!isObject(spec)) return { ok: true, spec }
  const out = structuredClone(spec)
  for (const p of paths) {
    const ref = refAt(out, p)
    if (ref === undefined) continue
    if ('field' in ref) return { ok: false, error: ref }
    try {
      set(out, p, await resolveRef(ref, src))
    } catch (err) {
      return { ok: false, error: { field: p, message: `cannot be resolved: ${errorMessage(err)}` } }
    }
  }
  return { ok: true, spec: out }
}
