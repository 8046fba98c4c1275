/**
 * `mailslot` command (docs/contract.md):
 *   start [--role all|web|worker] · migrate · mailbox add --file F|- · mailbox list [--json]
 *   mailbox poll NAME · emails list [--mailbox N] [--status S] [--json] · emails replay ID · secrets rotate
 * Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.
 */
import { parseArgs } from 'node:util'
import { ConfigError, loadSettings } from './config/settings.ts'
import { AppError, errorCode, errorMessage } from './shared/errors.ts'
import { commands, UsageError } from './cli/commands.ts'

const USAGE = `usage:
  mailslot start [--role all|web|worker]
  mailslot migrate
  mailslot mailbox add --file mailbox.json     (--file - reads stdin)
  mailslot mailbox list [--json]
  mailslot mailbox poll NAME
  mailslot emails list [--mailbox NAME] [--status STATUS] [--json]
  mailslot emails replay ID
  mailslot secrets rotate                      (re-encrypt stored secrets under the first MAILSLOT_ENCRYPTION_KEY)`

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
      help: { type: 'boolean', short: 'h' }
    }
  })
  const name = positionals.slice(0, positionals[0] === 'start' || positionals[0] === 'migrate' ? 1 : 2).join(' ')
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

main(process.argv.slice(2)).then(code => { process.exitCode = code }, err => { process.exitCode = report(err) })
