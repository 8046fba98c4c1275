/**
 * `mailslot` command (docs/contract.md):
 *   start [--role all|web|worker] · migrate · mailbox add --file F|- · mailbox list [--json]
 *   mailbox poll NAME · mailbox test NAME [--json] · emails list [--mailbox N] [--status S] [--json]
 *   emails replay ID · emails replay --status failed|rejected [--mailbox N] [--since WHEN] · secrets rotate
 *   config check [FILE]
 *   import mail-room FILE [--out FILE] [--force]   (no settings, no database)
 *   dev send --to ADDRESS [--subject S] [--body B] [--mailbox NAME]   (into the environment of `npm run dev`)
 * Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.
 */
import { parseArgs } from 'node:util'
import { ConfigError, loadSettings } from './config/settings.ts'
import { AppError, errorCode, errorMessage } from './shared/errors.ts'
import { UsageError } from './cli/usage-error.ts'
import { importMailRoom } from './cli/import/command.ts'

const USAGE = `usage:
  mailslot start [--role all|web|worker]
  mailslot migrate
  mailslot mailbox add --file mailbox.json     (--file - reads stdin)
  mailslot mailbox list [--json]
  mailslot mailbox poll NAME
  mailslot mailbox test NAME [--json]          (connect, log in, list what a poll would take; changes nothing)
  mailslot emails list [--mailbox NAME] [--status STATUS] [--json]
  mailslot emails replay ID
  mailslot emails replay --status failed|rejected [--mailbox NAME] [--since 24h|7d|ISO-TIME]
  mailslot config check [FILE]                 (validate a MAILSLOT_CONFIG file without starting)
  mailslot secrets rotate                      (re-encrypt stored secrets under the first MAILSLOT_ENCRYPTION_KEY)
  mailslot import mail-room FILE [--out mailslot.yml] [--force]
                                               (FILE: mail_room's YAML, gitlab.yml or gitlab.rb)
  mailslot dev send --to ADDRESS [--subject S] [--body B] [--mailbox NAME]
                                               (a message into a mailbox of the running \`npm run dev\`)`

export async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      file: { type: 'string' },
      json: { type: 'boolean' },
      mailbox: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      to: { type: 'string' },
      subject: { type: 'string' },
      body: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  const name = positionals.slice(0, positionals[0] === 'start' || positionals[0] === 'migrate' ? 1 : 2).join(' ')
  if (name === 'import mail-room' && values.help !== true) {
    const args = positionals.slice(2)
    if (args.length !== 1) throw new UsageError('import mail-room needs exactly one FILE')
    return await importMailRoom({ file: args[0], out: values.out, force: values.force })
  }
  if (name === 'dev send' && values.help !== true) {
    if (positionals.length > 2) throw new UsageError('dev send takes no arguments besides its options')
    const { devSend } = await import('./cli/dev-send.ts')
    return await devSend(values)
  }
  // loaded here so that the import, which needs no database, starts fast
  const { commands } = await import('./cli/commands.ts')
  const command = commands[name]
  if (values.help === true || command === undefined) {
    process.stderr.write(USAGE + '\n')
    return values.help === true ? 0 : 2
  }
  const settings = loadSettings()
  return await command({ settings, values, args: positionals.slice(name.split(' ').length) })
}

function report (err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`mailslot: configuration error: ${err.message}\n`)
    return 2
  }
  if (err instanceof UsageError) {
    process.stderr.write(`mailslot: ${err.message}\n${USAGE}\n`)
    return 2
  }
  if (err instanceof AppError) {
    process.stderr.write(`mailslot: ${err.code}: ${err.message}\n`)
    return err.status === 400 ? 2 : 1
  }
  if (errorCode(err) === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    process.stderr.write(`mailslot: ${errorMessage(err)}\n${USAGE}\n`)
    return 2
  }
  // one line for the operator; the stack only when asked for
  const debug = ['debug', 'trace'].includes(process.env.MAILSLOT_LOG_LEVEL ?? '')
  const stack = err instanceof Error ? err.stack : undefined
  process.stderr.write(`mailslot: ${debug && stack !== undefined ? stack : `${errorMessage(err).replace(/\s*\n\s*/g, ' ')} (MAILSLOT_LOG_LEVEL=debug shows where)`}\n`)
  return 1
}

void main(process.argv.slice(2)).then(code => code, err => report(err)).then(code => {
  process.exitCode = code
  // everything is closed by now; a handle a library leaves behind must not keep a finished command alive
  setTimeout(() => process.exit(code), 1000).unref()
})
