/**
 * MAILSLOT_CONFIG: a YAML (or JSON) file of declared mailboxes, built-in
 * projects and OAuth apps. Reading it needs no database: parse, resolve secret references,
 * validate; every error names the file, the entry and the field.
 * config-apply.ts then writes what it declares.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../config/settings.ts'
import { validateMailboxJson, describeSchemaErrors } from '../mailboxes/schema.ts'
import { resolveSecretRefs } from '../mailboxes/secret-refs.ts'
import type { MailboxSpec } from '../mailboxes/types.ts'
import { newProjectSchema, type NewProject } from '../handlers/builtin/projects.ts'
import { strictAjv } from '../shared/strict-ajv.ts'
import { validateAppJson } from '../oauth/apps/schema.ts'
import type { OAuthAppSpec } from '../oauth/types.ts'
import { errorCode, errorMessage } from '../shared/errors.ts'

export interface DeclaredConfig {
  file: string
  mailboxes: MailboxSpec[]
  projects: NewProject[]
  /** With their defaults filled in. */
  oauthApps: OAuthAppSpec[]
}

const SECTIONS = ['mailboxes', 'projects', 'oauthApps']
const validateProject = strictAjv.compile(newProjectSchema)

type Doc = Record<string, unknown>

/** The document, or the one-line reason it cannot be read. */
async function readDoc (file: string): Promise<Doc | string> {
  let text: string
  try { text = await readFile(file, 'utf8') } catch (err) { return `cannot be read (${errorCode(err) ?? errorMessage(err)})` }
  let doc: unknown
  try {
    // JSON's own parser when the file is JSON: its messages name JSON's positions
    doc = /^\s*\{/.test(text) ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    return `is not valid ${/^\s*\{/.test(text) ? 'JSON' : 'YAML'}: ${errorMessage(err).split('\n')[0]}`
  }
  if (doc === null || doc === undefined) return 'is empty: declare at least one section (mailboxes: [] removes every declared mailbox)'
  if (typeof doc !== 'object' || Array.isArray(doc)) return `must be a mapping of ${SECTIONS.join(', ')}`
  return doc as Doc
}

/** `mailboxes[2] "support"`: the entry by position, and by name when it has one. */
function entryLabel (section: string, i: number, key: unknown): string {
  return typeof key === 'string' ? `${section}[${i}] "${key}"` : `${section}[${i}]`
}

function list (doc: Doc, section: string, errors: string[]): unknown[] {
  const value = doc[section] ?? []
  if (Array.isArray(value)) return value
  errors.push(`${section} must be a list`)
  return []
}

async function checkMailboxes (items: unknown[], baseDir: string, allowPrivate: boolean, errors: string[]): Promise<MailboxSpec[]> {
  const seen = new Map<string, number>()
  const out: MailboxSpec[] = []
  for (const [i, item] of items.entries()) {
    const name = (item as { name?: unknown } | null)?.name
    const label = entryLabel('mailboxes', i, name)
    const resolved = await resolveSecretRefs(item, { baseDir, env: process.env })
    if (!resolved.ok) { errors.push(`${label}: ${resolved.error.field} ${resolved.error.message}`); continue }
    const check = validateMailboxJson(resolved.spec, allowPrivate)
    if (!check.ok) { errors.push(`${label}: ${check.error.field} ${check.error.message}`); continue }
    const spec = resolved.spec as MailboxSpec
    const first = seen.get(spec.name)
    if (first !== undefined) { errors.push(`${label}: name is declared twice (also mailboxes[${first}])`); continue }
    seen.set(spec.name, i)
    out.push(spec)
  }
  return out
}

async function checkApps (items: unknown[], baseDir: string, errors: string[]): Promise<OAuthAppSpec[]> {
  const seen = new Map<string, number>()
  const out: OAuthAppSpec[] = []
  for (const [i, item] of items.entries()) {
    const label = entryLabel('oauthApps', i, (item as { name?: unknown } | null)?.name)
    const resolved = await resolveSecretRefs(item, { baseDir, env: process.env }, ['clientSecret'])
    if (!resolved.ok) { errors.push(`${label}: ${resolved.error.field} ${resolved.error.message}`); continue }
    const check = validateAppJson(resolved.spec)
    if (!check.ok) { errors.push(`${label}: ${check.error.field} ${check.error.message}`); continue }
    const first = seen.get(check.spec.name)
    if (first !== undefined) { errors.push(`${label}: name is declared twice (also oauthApps[${first}])`); continue }
    seen.set(check.spec.name, i)
    out.push(check.spec)
  }
  return out
}

function checkProjects (items: unknown[], errors: string[]): NewProject[] {
  const seen = new Map<string, number>()
  const out: NewProject[] = []
  for (const [i, item] of items.entries()) {
    const label = entryLabel('projects', i, (item as { path?: unknown } | null)?.path)
    if (!validateProject(item)) {
      const e = describeSchemaErrors(validateProject.errors)
      errors.push(`${label}: ${e.field} ${e.message}`)
      continue
    }
    const p = item as unknown as NewProject
    const first = seen.get(p.path.toLowerCase())
    if (first !== undefined) { errors.push(`${label}: path is declared twice (also projects[${first}])`); continue }
    seen.set(p.path.toLowerCase(), i)
    out.push(p)
  }
  return out
}

/** The declared entries, or every error found (each one line: `FILE: entry: field message`). */
export async function checkConfigFile (file: string, allowPrivateWebhooks: boolean): Promise<{ config: DeclaredConfig, errors: string[] }> {
  const errors: string[] = []
  const config: DeclaredConfig = { file, mailboxes: [], projects: [], oauthApps: [] }
  const doc = await readDoc(file)
  if (typeof doc === 'string') return { config, errors: [`${file} ${doc}`] }
  for (const key of Object.keys(doc)) if (!SECTIONS.includes(key)) errors.push(`${key} is not a known section (${SECTIONS.join(', ')})`)
  const baseDir = path.dirname(path.resolve(file))
  config.mailboxes = await checkMailboxes(list(doc, 'mailboxes', errors), baseDir, allowPrivateWebhooks, errors)
  config.projects = checkProjects(list(doc, 'projects', errors), errors)
  config.oauthApps = await checkApps(list(doc, 'oauthApps', errors), baseDir, errors)
  return { config, errors: errors.map(e => `${file}: ${e}`) }
}

/** The declared entries; a ConfigError naming MAILSLOT_CONFIG, the file, the entry and the field otherwise. */
export async function loadConfigFile (file: string, allowPrivateWebhooks: boolean): Promise<DeclaredConfig> {
  const { config, errors } = await checkConfigFile(file, allowPrivateWebhooks)
  if (errors.length === 0) return config
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more: see npx mailslot config check ${file})` : ''
  throw new ConfigError('MAILSLOT_CONFIG', errors[0] + more)
}
