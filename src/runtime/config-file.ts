/**
 * MAILSLOT_CONFIG: a JSON file of declared mailboxes and built-in projects,
 * applied at start:
 *   {"mailboxes": [<mailbox JSON>…], "projects": [{"path", "serviceDesk"?, "serviceDeskKey"?, "customEmail"?, "address"?}…]}
 * Declared mailboxes are created or updated; declared projects are created
 * when missing. Nothing that is not in the file is touched.
 */
import { readFile } from 'node:fs/promises'
import { ConfigError } from '../config/settings.ts'
import { validateMailboxJson } from '../mailboxes/schema.ts'
import { upsertMailbox } from '../mailboxes/repository.ts'
import type { MailboxSpec } from '../mailboxes/types.ts'
import { createProject, projectByPath, type NewProject } from '../handlers/builtin/projects.ts'
import type { AppContext } from '../context.ts'
import { errorMessage } from '../shared/errors.ts'

function checkProjects (file: string, projects: unknown): NewProject[] {
  if (!Array.isArray(projects)) throw new ConfigError('MAILSLOT_CONFIG', `${file}: "projects" must be an array`)
  projects.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || typeof (p as NewProject).path !== 'string' || !(p as NewProject).path.includes('/')) {
      throw new ConfigError('MAILSLOT_CONFIG', `${file}: projects[${i}].path must be "group/project"`)
    }
  })
  return projects as NewProject[]
}

export async function applyConfigFile (ctx: AppContext, file: string): Promise<void> {
  let doc: { mailboxes?: unknown, projects?: unknown }
  try {
    doc = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new ConfigError('MAILSLOT_CONFIG', `cannot read ${file}: ${errorMessage(err)}`)
  }
  const mailboxes = doc.mailboxes ?? []
  if (!Array.isArray(mailboxes)) throw new ConfigError('MAILSLOT_CONFIG', `${file}: "mailboxes" must be an array`)
  mailboxes.forEach((m, i) => {
    const result = validateMailboxJson(m, ctx.settings.webhookAllowPrivate)
    if (!result.ok) throw new ConfigError('MAILSLOT_CONFIG', `${file}: mailboxes[${i}].${result.error.field} ${result.error.message}`)
  })
  const projects = checkProjects(file, doc.projects ?? [])
  for (const m of mailboxes as MailboxSpec[]) await upsertMailbox(ctx.pool, ctx.keyring, m)
  for (const p of projects) if (await projectByPath(ctx.pool, p.path) === null) await createProject(ctx.pool, p)
  ctx.log.info({ file, mailboxes: mailboxes.length, projects: projects.length }, 'config file applied')
}
