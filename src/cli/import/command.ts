/**
 * `mailslot import mail-room FILE [--out FILE] [--force]`: detects the input
 * kind by content, maps it, writes mailslot's YAML configuration (stdout or
 * --out, never over an existing file without --force) and the report
 * (stderr, and as a comment block on top of the output). No database.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { parseDocument } from 'yaml'
import { errorCode, errorMessage } from '../../shared/errors.ts'
import { gitlabYmlRoot, readGitlabYml } from './gitlab-yml.ts'
import { looksLikeGitlabRb, readGitlabRb } from './gitlab-rb.ts'
import { mailRoomMailboxes, readMailRoomYml } from './mail-room-yml.ts'
import { mapSource } from './mapping.ts'
import { ImportInputError, type Source } from './types.ts'
import { envVars, renderYaml, reportText } from './writer.ts'

export interface ImportOptions { file: string, out?: string, force?: boolean }

/** Which of the three inputs `text` is, read. */
export function detect (text: string): Source {
  if (text.includes('<%')) {
    throw new ImportInputError('this is GitLab\'s ERB template of mail_room.yml, not a rendered file: import gitlab.yml (source) or gitlab.rb (Omnibus) instead')
  }
  if (looksLikeGitlabRb(text)) return readGitlabRb(text)
  const parsed = parseDocument(text, { merge: true, uniqueKeys: false })
  if (parsed.errors.length > 0) {
    throw new ImportInputError(`is neither gitlab.rb nor valid YAML (${parsed.errors[0].message.split('\n')[0]})`)
  }
  const doc: unknown = parsed.toJS({ maxAliasCount: 1000 })
  const mailRoom = mailRoomMailboxes(doc)
  if (mailRoom !== undefined) return readMailRoomYml(mailRoom)
  const root = gitlabYmlRoot(doc)
  if (root !== undefined) return readGitlabYml(root)
  throw new ImportInputError('is not a mail_room YAML (:mailboxes:), a gitlab.yml (production: incoming_email / service_desk_email) or a gitlab.rb (gitlab_rails[\'incoming_email_*\'])')
}

export async function importMailRoom (opts: ImportOptions): Promise<number> {
  const fail = (message: string): number => { process.stderr.write(`mailslot: import mail-room: ${message}\n`); return 2 }
  let text: string
  try { text = await readFile(opts.file, 'utf8') } catch (err) { return fail(`${opts.file} cannot be read (${errorCode(err) ?? errorMessage(err)})`) }
  let source: Source
  try { source = detect(text) } catch (err) {
    if (err instanceof ImportInputError) return fail(`${opts.file} ${err.message}`)
    throw err
  }
  const imported = mapSource(source)
  const lines = [`read ${opts.file} as ${source.kind}`, ...reportText(imported.report)]
  const env = envVars(imported)
  if (env.length > 0) lines.push(`before starting mailslot, set ${env.join(', ')} (or replace each { env: … } with { file: /path/to/secret })`)
  process.stderr.write(lines.map(l => `mailslot: import: ${l}\n`).join(''))
  if (imported.report.some(l => l.level === 'error')) return fail('not written: fix the errors above')
  const yaml = renderYaml(imported, ['mailslot configuration imported by `mailslot import mail-room`', ...lines.map(l => `  ${l}`)])
  if (opts.out === undefined) { process.stdout.write(yaml); return 0 }
  try {
    await writeFile(opts.out, yaml, { flag: opts.force === true ? 'w' : 'wx', mode: 0o600 })
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return fail(`${opts.out} exists: pass --force to overwrite it`)
    return fail(`${opts.out} cannot be written (${errorCode(err) ?? errorMessage(err)})`)
  }
  process.stderr.write(`mailslot: import: wrote ${opts.out}\n`)
  return 0
}
