/**
 * Start-up failures the operator can fix, as one ConfigError line naming the
 * setting (exit 2): the listen address, the data dir.
 */
import { ConfigError, type Settings } from '../config/settings.ts'
import { errorCode } from '../shared/errors.ts'

const FS_REASONS: Record<string, string> = {
  EROFS: 'is on a read-only file system',
  EACCES: 'is not writable (permission denied)',
  EPERM: 'is not writable (operation not permitted)',
  ENOTDIR: 'cannot be created: a part of its path is a file',
  EEXIST: 'cannot be created: a file of that name exists',
  ENOSPC: 'is on a full file system',
  EDQUOT: 'is over its disk quota'
}

/** An error of the HTTP listen step as a ConfigError naming PORT or HOST, when it is one; else the error itself. */
export function listenError (err: unknown, settings: Settings): unknown {
  const where = `${settings.host}:${settings.port}`
  switch (errorCode(err)) {
    case 'EADDRINUSE': return new ConfigError('PORT', `${where} is already in use by another process: choose a free PORT (or HOST)`)
    case 'EACCES': return new ConfigError('PORT', `${where} needs privileges to listen on: choose a PORT above 1023`)
    case 'EADDRNOTAVAIL': return new ConfigError('HOST', `${settings.host} is not an address of this machine`)
    case 'ENOTFOUND': return new ConfigError('HOST', `${settings.host} does not resolve`)
    default: return err
  }
}

/** A file system error inside the data dir as a ConfigError naming MAILSLOT_DATA_DIR, when it is one; else the error itself. */
export function dataDirError (err: unknown, settings: Settings): unknown {
  const code = errorCode(err)
  const file = (err as { path?: unknown } | null)?.path
  const dir = settings.dataDir
  if (code === undefined || FS_REASONS[code] === undefined || typeof file !== 'string') return err
  if (file !== dir && !file.startsWith(dir + '/') && !dir.startsWith(file + '/')) return err
  return new ConfigError('MAILSLOT_DATA_DIR', `${dir} ${FS_REASONS[code]} (${code} on ${file})`)
}
