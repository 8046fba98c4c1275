/** Built-in projects: creation, lookup by what a mail key names. */
import { randomBytes } from 'node:crypto'
import type { Queryable } from '../../db/pool.ts'
import { AppError, errorCode } from '../../shared/errors.ts'
import { firstBuiltinAddress } from '../../mailboxes/repository.ts'

export interface Project {
  id: number
  path: string
  slug: string
  incomingEmailToken: string
  serviceDesk: boolean
  serviceDeskKey: string | null
  customEmail: string | null
  address: string | null
}

interface Row {
  id: number, path: string, slug: string, incoming_email_token: string, service_desk_enabled: boolean,
  service_desk_key: string | null, custom_email: string | null, address: string | null
}

const toProject = (r: Row): Project => ({
  id: r.id, path: r.path, slug: r.slug, incomingEmailToken: r.incoming_email_token, serviceDesk: r.service_desk_enabled,
  serviceDeskKey: r.service_desk_key, customEmail: r.custom_email, address: r.address
})

/** GitLab's full_path_slug: `Group/Sub.Project` → `group-sub-project`. */
export function fullPathSlug (path: string): string {
  return path.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
}

/** A new project's JSON (the API and the configuration file). */
export const newProjectSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$', maxLength: 255 },
    serviceDesk: { type: 'boolean' },
    serviceDeskKey: { type: 'string', pattern: '^[a-z0-9_]{1,255}$' },
    customEmail: { type: 'string', pattern: '^[^@\\s+]+@[^@\\s]+$', maxLength: 320 },
    address: { type: 'string', pattern: '^[^@\\s]*%\\{key\\}[^@\\s]*@[^@\\s]+$', maxLength: 320 }
  }
}

export interface NewProject {
  path: string
  serviceDesk?: boolean
  serviceDeskKey?: string
  customEmail?: string
  /** Default: the first built-in mailbox's wildcard address. */
  address?: string
  /** For seeding only: a fixed id and token. */
  id?: number
  incomingEmailToken?: string
}

export async function createProject (db: Queryable, p: NewProject): Promise<Project> {
  const address = p.address ?? await firstBuiltinAddress(db)
  try {
    const { rows } = await db.query<Row>(
      `INSERT INTO projects (id, path, slug, incoming_email_token, service_desk_enabled, service_desk_key, custom_email, address)
       VALUES (coalesce($1, nextval('projects_id_seq')), $2, $3, $4, $5, $6, lower($7), $8) RETURNING *`,
      [p.id ?? null, p.path, fullPathSlug(p.path), p.incomingEmailToken ?? randomBytes(12).toString('hex'),
        p.serviceDesk ?? false, p.serviceDeskKey ?? null, p.customEmail ?? null, address])
    return toProject(rows[0])
  } catch (err) {
    if (errorCode(err) === '23505') throw new AppError('project_exists', `a project with that path, Service Desk key or custom address exists`)
    throw err
  }
}

/**
 * The configuration file's project: its settings replaced (a missing
 * `address` keeps the current one), or created; marked as declared either way.
 */
export async function upsertDeclaredProject (db: Queryable, p: NewProject): Promise<'created' | 'updated'> {
  try {
    const { rowCount } = await db.query(
      `UPDATE projects SET service_desk_enabled = $2, service_desk_key = $3, custom_email = lower($4),
         address = coalesce($5, address), declared_by_config = true
       WHERE lower(path) = lower($1)`,
      [p.path, p.serviceDesk ?? false, p.serviceDeskKey ?? null, p.customEmail ?? null, p.address ?? null])
    if (rowCount !== 0) return 'updated'
  } catch (err) {
    if (errorCode(err) === '23505') throw new AppError('project_exists', 'another project has that Service Desk key or custom address')
    throw err
  }
  const created = await createProject(db, p)
  await db.query('UPDATE projects SET declared_by_config = true WHERE id = $1', [created.id])
  return 'created'
}

/** Projects the file declared before and no longer declares: kept (their issues stay), unmarked; their paths. */
export async function releaseUndeclaredProjects (db: Queryable, declared: string[]): Promise<string[]> {
  const { rows } = await db.query<{ path: string }>(
    `UPDATE projects SET declared_by_config = false
     WHERE declared_by_config AND NOT (lower(path) = ANY($1::text[])) RETURNING path`, [declared.map(d => d.toLowerCase())])
  return rows.map(r => r.path).sort()
}

/** By id; null when there is none (a failed query throws: not the same answer). */
export async function getProject (db: Queryable, id: number): Promise<Project | null> {
  const { rows } = await db.query<Row>('SELECT * FROM projects WHERE id = $1', [id])
  return rows.length === 0 ? null : toProject(rows[0])
}

export async function listProjects (db: Queryable): Promise<Project[]> {
  return (await db.query<Row>('SELECT * FROM projects ORDER BY id')).rows.map(toProject)
}

/** By id, checking the slug matches (GitLab refuses a key whose slug is not the project's). */
export async function projectByIdAndSlug (db: Queryable, id: number, slug: string): Promise<Project | null> {
  const { rows } = await db.query<Row>('SELECT * FROM projects WHERE id = $1 AND slug = $2', [id, slug])
  return rows.length === 0 ? null : toProject(rows[0])
}

export async function projectByPath (db: Queryable, path: string): Promise<Project | null> {
  const { rows } = await db.query<Row>('SELECT * FROM projects WHERE lower(path) = lower($1)', [path])
  return rows.length === 0 ? null : toProject(rows[0])
}

export async function projectByServiceDeskKey (db: Queryable, slug: string, key: string): Promise<Project | null> {
  const { rows } = await db.query<Row>('SELECT * FROM projects WHERE slug = $1 AND service_desk_key = $2', [slug, key])
  return rows.length === 0 ? null : toProject(rows[0])
}

export async function customServiceDeskAddresses (db: Queryable): Promise<Array<{ address: string, projectRef: string }>> {
  const { rows } = await db.query<{ address: string, id: number }>('SELECT custom_email AS address, id FROM projects WHERE custom_email IS NOT NULL')
  return rows.map(r => ({ address: r.address, projectRef: String(r.id) }))
}

/** A full address from a wildcard: `incoming+%{key}@example.com` with the key put in. */
export function addressFor (wildcard: string | null, key: string): string | null {
  return wildcard === null ? null : wildcard.replace('%{key}', key)
}
