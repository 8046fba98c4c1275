/**
 * The embedded PostgreSQL when mailslot runs as root. PostgreSQL refuses to
 * run as root, so its programs run as the `postgres` system user (created when
 * missing), who must reach the binaries and the cluster's directory. A clone
 * under a private directory (`/root/app`, mode 0700) hides both from that
 * user; rather than opening the owner's private directories, the binaries are
 * copied once, and the cluster is placed, under MAILSLOT_PG_HOME (default
 * `/var/lib/mailslot`), which every user may enter.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, chown, cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { ConfigError } from '../config/settings.ts'
import { errorMessage } from '../shared/errors.ts'

export interface RunAs { uid?: number, gid?: number }

function ids (): RunAs {
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim())
  }
}

let cached: RunAs | undefined

/** The user the server's programs run as: `postgres` when we are root (created when missing), else ourselves. */
export function runAs (): RunAs {
  if (process.getuid?.() !== 0) return {}
  if (cached !== undefined) return cached
  try {
    cached = ids()
  } catch {
    try {
      execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' })
      execFileSync('useradd', ['--system', '-g', 'postgres', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' })
      cached = ids()
    } catch (err) {
      throw new ConfigError('DATABASE_URL', 'unset, and as root the embedded PostgreSQL needs a `postgres` system user, which could not be ' +
        `created (${errorMessage(err)}): create it (useradd --system postgres), run mailslot as another user, or set DATABASE_URL`)
    }
  }
  return cached
}

/** True when `as` can reach `target` (every directory on the way searchable) and execute or enter it. */
export function reachable (as: RunAs, target: string): boolean {
  if (as.uid === undefined) return true
  return spawnSync('test', ['-x', target], { uid: as.uid, gid: as.gid, stdio: 'ignore' }).status === 0
}

/** MAILSLOT_PG_HOME, made when missing; it must be reachable by `as`. */
async function home (dir: string, as: RunAs): Promise<string> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 })
  } catch (err) {
    throw new ConfigError('MAILSLOT_PG_HOME', `${dir} cannot be created (${errorMessage(err)})`)
  }
  if (!reachable(as, dir)) throw new ConfigError('MAILSLOT_PG_HOME', `${dir} is not reachable by the postgres user: choose a directory every user may enter`)
  return dir
}

/** Read and search for everyone: the copy must be usable by `postgres` whatever root's umask. */
async function openUp (dir: string): Promise<void> {
  await chmod(dir, 0o755)
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath, entry.name)
    if (entry.isDirectory()) await chmod(file, 0o755)
    else if (entry.isFile()) {
      const { mode } = await stat(file)
      await chmod(file, (mode & 0o777) | 0o444 | ((mode & 0o100) !== 0 ? 0o111 : 0))
    }
  }
}

/**
 * The folder holding bin/, lib/ and share/ that `as` can use: the package's
 * own, or a copy of it under `pgHome` (made once per PostgreSQL package version).
 */
export async function usableNative (nativeDir: string, pgHome: string, as: RunAs): Promise<{ dir: string, copied: boolean }> {
  if (reachable(as, path.join(nativeDir, 'bin', 'pg_ctl'))) return { dir: nativeDir, copied: false }
  const { version } = JSON.parse(await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }
  const target = path.join(await home(pgHome, as), `postgresql-${version}`)
  if (existsSync(path.join(target, 'bin', 'pg_ctl'))) return { dir: target, copied: false }
  // copied aside and renamed, so that a concurrent start never sees half a copy
  const partial = `${target}.${process.pid}.partial`
  await rm(partial, { recursive: true, force: true })
  await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true })
  await openUp(partial)
  await rename(partial, target).catch(async () => { await rm(partial, { recursive: true, force: true }) })
  return { dir: target, copied: true }
}

/**
 * Where a new cluster goes: `<dataDir>/pg` when `as` can reach the data dir
 * (made enterable, not readable, by others); else a new folder under `pgHome`.
 */
export async function placeCluster (dataDir: string, pgHome: string, as: RunAs): Promise<string> {
  if (reachable(as, path.dirname(dataDir))) {
    const { mode } = await stat(dataDir)
    if (as.uid !== undefined && (mode & 0o001) === 0) await chmod(dataDir, (mode & 0o777) | 0o711)
    return path.join(dataDir, 'pg')
  }
  return path.join(await home(pgHome, as), `data-${randomBytes(6).toString('hex')}`)
}

/** An empty directory for the cluster, owned by `as`. */
export async function makeClusterDir (pgDir: string, as: RunAs): Promise<void> {
  await rm(pgDir, { recursive: true, force: true }) // a failed earlier initdb's leftovers
  await mkdir(pgDir, { recursive: true, mode: 0o700 })
  if (as.uid !== undefined) await chown(pgDir, as.uid, as.gid ?? as.uid)
}
