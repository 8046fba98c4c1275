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

export interface ImportResult {
  /** 0, or 2 when the input is unrecognised or a mailbox cannot be mapped. */
  code: number
  /** The configuration file, when the import succeeded. */
  yaml?: string
  /** Report lines (the stderr of the command). */
  lines: string[]
}

/** The whole import of one input's text, without I/O; `file` names it in the report. */
export function importText (text: string, file: string): ImportResult {
  let source: Source
  try { source = detect(text) } catch (err) {
    if (err instanceof ImportInputError) return { code: 2, lines: [`${file} ${err.message}`] }
    throw err
  }
  const imported = mapSource(source)
  const lines = [`read ${file} as ${source.kind}`, ...reportText(imported.report)]
  const env = envVars(imported)
  if (env.length > 0) lines.push(`before starting mailslot, set ${env.join(', ')} (or replace each { env: … } with { file: /path/to/secret })`)
  if (imported.report.some(l => l.level === 'error')) return { code: 2, lines: [...lines, 'not written: fix the errors above'] }
  const yaml = renderYaml(imported, ['mailslot configuration imported by `mailslot import mail-room`', ...lines.map(l => `  ${l}`)])
  return { code: 0, yaml, lines }
}

export async function importMailRoom (opts: ImportOptions): Promise<number> {
  const say = (line: string): void => { process.stderr.write(`mailslot: import mail-room: ${line}\n`) }
  let text: string
  try { text = await readFile(opts.file, 'utf8') } catch (err) {
    say(`${opts.file} cannot be read (${errorCode(err) ?? errorMessage(err)})`)
    return 2
  }
  const result = importText(text, opts.file)
  result.lines.forEach(say)
  if (result.yaml === undefined) return result.code
  if (opts.out === undefined) { process.stdout.write(result.yaml); return 0 }
  try {
    await writeFile(opts.out, result.yaml, { flag: opts.force === true ? 'w' : 'wx', mode: 0o600 })
  } catch (err) {
    say(errorCode(err) === 'EEXIST' ? `${opts.out} exists: pass --force to overwrite it` : `${opts.out} cannot be written (${errorCode(err) ?? errorMessage(err)})`)
    return 2
  }
  say(`wrote ${opts.out}`)
  return 0
}
