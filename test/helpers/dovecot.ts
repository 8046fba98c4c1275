/**
 * A private, throw-away Dovecot IMAP server for tests and benchmarks.
 *
 * Every instance lives in its own folder under os.tmpdir() (config, sockets,
 * state, log, mail, users) and listens on its own free port on 127.0.0.1, so
 * test files running in parallel never share anything. `stop()` ends exactly
 * the processes of this instance and removes its folder.
 *
 * How it is wired (Debian's dovecot-imapd, Dovecot 2.3, runs privately, as
 * root, on any port, from its own config file and with no system service):
 * - Passwords: one passwd-file per user (`users/<user>`). Dovecot stats a
 *   passwd-file at most once per second, so a single shared file would hide a
 *   user added in the same second as an earlier login; a new file per user is
 *   always read fresh.
 * - Userdb: static, `allow_all_users`, a non-root system user (`mail`, uid 8
 *   on Debian) owning every mailbox. Any login name has a mailbox.
 * - A master user (`<user>*mailslot-helper`) lets the helper's own IMAP
 *   sessions (`client`, `append`) log in as any user, whatever the user's
 *   password or OAuth token.
 * - Bulk delivery (`appendMany`) writes straight into the Maildir, as an MDA
 *   would: 2,000 × 7 KB in 0.2–1.2 s here (bound by file creation on this
 *   disk) instead of about 6 s of IMAP APPENDs.
 * - No auth penalty and no failure delay beyond Dovecot's 0.5 s batching, so
 *   tests of failing logins stay fast.
 */
import { execFile, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ImapFlow, type ImapFlowOptions, type AuthOptions } from 'imapflow'
import { config, mailSystemUser, makeCertificate } from './dovecot-config.ts'
import { HOST, findDovecot, freePort, launch, readLog, shutdown, tail } from './dovecot-process.ts'

export interface StartDovecotOptions {
  /** Dovecot's high-performance login settings (long-lived imap-login processes, big limits), for the polling benchmark. Default false. */
  highPerformance?: boolean;
  /** Enables XOAUTH2/OAUTHBEARER, checked by POSTing the token to this introspection URL (see dovecot-oauth.ts). Default none. */
  oauth2IntrospectionUrl?: string;
  /** Self-signed TLS: IMAPS on `tlsPort` and STARTTLS on `port`; the certificate is `ca`. Default false. */
  ssl?: boolean;
  /** auth_debug + mail_debug in the log. Default false. */
  debug?: boolean;
  /** Raw lines appended to dovecot.conf. Default none. */
  extraConfig?: string;
  /** How long to wait for the IMAP greeting. Default 10,000 ms. */
  startTimeoutMs?: number;
}

export interface DovecotUser {
  user: string;
  password: string;
}

export interface DovecotClientOptions {
  /** Connect to the IMAPS port (needs `ssl: true`). Default false. */
  secure?: boolean;
  /** Extra ImapFlow options, merged last. */
  imap?: Partial<ImapFlowOptions>;
}

export interface Dovecot {
  readonly host: string;
  readonly port: number;
  /** IMAPS port, when started with `ssl: true`. */
  readonly tlsPort?: number;
  /** PEM of the self-signed certificate, when started with `ssl: true`. */
  readonly ca?: string;
  /** The instance's private folder. */
  readonly dir: string;
  readonly logPath: string;
  /** Pid of the Dovecot master process (a new one after `resume`). */
  readonly pid: number;
  /** Adds a password login (random `u…@example.com` / random password by default). */
  addUser(user?: string, password?: string): DovecotUser;
  /** Changes a user's password; resolves once Dovecot is sure to see it (up to 1 s). */
  setPassword(user: string, password: string): Promise<void>;
  /** ImapFlow options for a login as `user` with a password or token (plain port, or IMAPS with `secure`). */
  clientOptions(auth: AuthOptions, options?: DovecotClientOptions): ImapFlowOptions;
  /** A connected ImapFlow logged in as `user` (through the master user: works for any user). Log out when done. */
  client(user: string, options?: DovecotClientOptions): Promise<ImapFlow>;
  /** IMAP APPEND as `user`; creates the folder when missing. */
  append(user: string, folder: string, raw: Buffer | string, flags?: string[], date?: Date): Promise<{ uid: number; uidValidity: bigint }>;
  /** Bulk delivery written straight into the Maildir, in order (UIDs follow the array order). Resolves to the folder's message count. */
  appendMany(user: string, folder: string, raws: Array<Buffer | string>, flags?: string[]): Promise<number>;
  /** uid -> flags (without \Recent), from `doveadm fetch`. */
  flags(user: string, folder: string): Promise<Map<number, string[]>>;
  /** The UIDs flagged \Seen, ascending. */
  seen(user: string, folder: string): Promise<number[]>;
  count(user: string, folder: string): Promise<number>;
  uidValidity(user: string, folder: string): Promise<bigint>;
  /** Creates (and subscribes) a folder; false when it already existed. */
  createFolder(user: string, name: string): Promise<boolean>;
  /** Deletes a folder with its messages; false when it did not exist. */
  deleteFolder(user: string, name: string): Promise<boolean>;
  /** Runs `doveadm -c <this config> …args` and resolves to its stdout. */
  doveadm(args: string[]): Promise<string>;
  /** The last `lines` lines of the Dovecot log. */
  logTail(lines?: number): string;
  /** Stops the server like an outage (open sessions are cut), keeping its folder, mail and ports. Idempotent. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same ports with the same mail; resolves once it greets. */
  resume(): Promise<void>;
  /** Stops Dovecot, waits for all its processes to exit, removes the folder. Idempotent. */
  stop(): Promise<void>;
}

const MASTER_USER = 'mailslot-helper'
const USER_RE = /^[A-Za-z0-9._+=@-]+$/
const SYSTEM_FLAGS = new Map([
  ['\\draft', 'D'],
  ['\\flagged', 'F'],
  ['\\answered', 'R'],
  ['\\seen', 'S'],
  ['\\deleted', 'T'],
])

let fileStamp = 0
let fileSeq = 0

// If the test process exits without stop(), do not leave Dovecot running.
const running = new Map<number, string>() // master pid -> folder
process.on('exit', () => {
  for (const [pid, dir] of running) {
    try { process.kill(pid, 'SIGTERM') } catch { /* already gone */ }
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

export async function startDovecot (options: StartDovecotOptions = {}): Promise<Dovecot> {
  const bin = findDovecot()
  if (process.getuid?.() !== 0) {
    throw new Error('dovecot helper: must run as root (Dovecot hands each mailbox to the `mail` user and its logins to `dovenull`)')
  }
  const mailUser = mailSystemUser()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailslot-dovecot-'))
  try {
    // Dovecot's unprivileged processes (auth as `dovecot`, imap as `mail`,
    // imap-login as `dovenull`) must be able to reach into the folder.
    fs.chmodSync(dir, 0o755)
    for (const sub of ['run', 'state', 'users']) fs.mkdirSync(path.join(dir, sub), { mode: 0o755 })
    fs.mkdirSync(path.join(dir, 'mail'), { mode: 0o700 })
    fs.chownSync(path.join(dir, 'mail'), mailUser.uid, mailUser.gid)
    const masterPassword = randomBytes(12).toString('hex')
    fs.writeFileSync(path.join(dir, 'master-users'), `${MASTER_USER}:{PLAIN}${masterPassword}\n`, { mode: 0o644 })
    let ca: string | undefined
    if (options.ssl) ca = await makeCertificate(dir)
    if (options.oauth2IntrospectionUrl) {
      fs.writeFileSync(path.join(dir, 'oauth2.conf.ext'), [
        'introspection_mode = post',
        `introspection_url = ${options.oauth2IntrospectionUrl}`,
        'username_attribute = username',
        'active_attribute = active',
        'active_value = true',
        '',
      ].join('\n'), { mode: 0o644 })
    }

    // A port picked free can be taken by a parallel test before Dovecot binds
    // it: then start again on new ports.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      const tlsPort = options.ssl ? await freePort() : undefined
      fs.writeFileSync(path.join(dir, 'dovecot.conf'), config({ dir, port, tlsPort, mailUser, options }))
      try {
        const child = await launch(bin, dir, port, tlsPort, options.startTimeoutMs ?? 10_000)
        return instance({ bin, dir, port, tlsPort, ca, child, mailUser, masterPassword, startTimeoutMs: options.startTimeoutMs ?? 10_000 })
      } catch (err) {
        if (attempt < 5 && /Address already in use/.test(readLog(dir))) {
          fs.rmSync(path.join(dir, 'dovecot.log'), { force: true })
          continue
        }
        throw err
      }
    }
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

interface InstanceParts {
  bin: { dovecot: string; doveadm: string };
  dir: string;
  port: number;
  tlsPort: number | undefined;
  ca: string | undefined;
  child: ChildProcess;
  mailUser: { uid: number; gid: number };
  masterPassword: string;
  startTimeoutMs: number;
}

function instance (parts: InstanceParts): Dovecot {
  const { bin, dir, port, tlsPort, ca, mailUser, masterPassword } = parts
  const conf = path.join(dir, 'dovecot.conf')
  const logPath = path.join(dir, 'dovecot.log')
  let child = parts.child
  let pid = child.pid as number
  let halted = false
  let restarts = 0
  let stopping: Promise<void> | undefined
  let lastUsersStamp = 0

  running.set(pid, dir)

  function writeUser (user: string, password: string): void {
    if (!USER_RE.test(user)) throw new Error(`dovecot helper: unsupported user name ${JSON.stringify(user)}`)
    if (/[:\n\r]/.test(password)) throw new Error('dovecot helper: a password may not contain ":" or a line break')
    const file = path.join(dir, 'users', user)
    fs.writeFileSync(file, `${user}:{PLAIN}${password}\n`, { mode: 0o644 })
    // Dovecot re-reads the file when its mtime (seconds) or size changed:
    // give every write its own mtime second.
    lastUsersStamp = Math.max(lastUsersStamp + 1, Math.floor(Date.now() / 1000))
    fs.utimesSync(file, lastUsersStamp, lastUsersStamp)
  }

  async function doveadm (args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(bin.doveadm, ['-c', conf, ...args], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) {
          const e = new Error(`doveadm ${args.join(' ')} failed (exit ${String((err as NodeJS.ErrnoException & { code?: unknown }).code)}): ${stderr.trim()}`) as Error & { stderr: string; exitCode: unknown }
          e.stderr = stderr
          e.exitCode = (err as { code?: unknown }).code
          reject(e)
        } else resolve(stdout)
      })
    })
  }

  function clientOptions (auth: AuthOptions, opts: DovecotClientOptions = {}): ImapFlowOptions {
    if (opts.secure && tlsPort === undefined) throw new Error('dovecot helper: secure needs startDovecot({ ssl: true })')
    return {
      host: HOST,
      port: opts.secure ? tlsPort : port,
      secure: Boolean(opts.secure),
      ...(ca ? { tls: { ca } } : {}),
      auth,
      logger: false,
      ...opts.imap,
    }
  }

  async function client (user: string, opts: DovecotClientOptions = {}): Promise<ImapFlow> {
    const c = new ImapFlow(clientOptions({ user: `${user}*${MASTER_USER}`, pass: masterPassword }, opts))
    c.on('error', () => { /* surfaced by the failing command */ })
    await c.connect()
    return c
  }

  async function withClient<T> (user: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
    const c = await client(user, { imap: { disableAutoIdle: true } })
    try {
      return await fn(c)
    } finally {
      await c.logout().catch(() => c.close())
    }
  }

  async function createFolder (user: string, name: string): Promise<boolean> {
    try {
      await doveadm(['mailbox', 'create', '-s', '-u', user, name])
      return true
    } catch (err) {
      if (/already exists/i.test((err as { stderr?: string }).stderr ?? '')) return false
      throw err
    }
  }

  async function mailboxStatus (user: string, folder: string, field: string): Promise<string> {
    const out = await doveadm(['-f', 'tab', 'mailbox', 'status', '-u', user, field, folder])
    const [header = '', row = ''] = out.split('\n')
    const value = row.split('\t')[header.split('\t').indexOf(field)]
    if (value === undefined) throw new Error(`dovecot helper: no ${field} for ${folder}: ${out}`)
    return value
  }

  const api: Dovecot = {
    host: HOST,
    port,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    ...(ca !== undefined ? { ca } : {}),
    dir,
    logPath,
    get pid () {
      return pid
    },

    addUser (user = `u${randomBytes(6).toString('hex')}@example.com`, password = randomBytes(12).toString('hex')) {
      writeUser(user, password)
      return { user, password }
    },

    async setPassword (user, password) {
      writeUser(user, password)
      // A lookup earlier in this second may have cached the old file for the
      // rest of the second.
      await sleep(1100 - (Date.now() % 1000))
    },

    clientOptions,
    client,

    async append (user, folder, raw, flags = [], date) {
      return withClient(user, async (c) => {
        let res = await c.append(folder, raw, flags, date).catch((err: unknown) => {
          if ((err as { serverResponseCode?: string }).serverResponseCode === 'TRYCREATE') return null
          throw err
        })
        if (res === null) {
          await createFolder(user, folder)
          res = await c.append(folder, raw, flags, date)
        }
        if (!res || res.uid === undefined || res.uidValidity === undefined) throw new Error(`dovecot helper: APPEND to ${folder} returned no UID`)
        return { uid: res.uid, uidValidity: res.uidValidity }
      })
    },

    async appendMany (user, folder, raws, flags = []) {
      const letters: string[] = []
      for (const flag of flags) {
        const letter = SYSTEM_FLAGS.get(flag.toLowerCase())
        if (letter === undefined) {
          // Keywords live in dovecot-keywords: leave them to IMAP.
          if (folder.toUpperCase() !== 'INBOX') await createFolder(user, folder)
          await withClient(user, async (c) => {
            for (const raw of raws) await c.append(folder, raw, flags)
          })
          return api.count(user, folder)
        }
        letters.push(letter)
      }
      if (folder.toUpperCase() === 'INBOX') await mailboxStatus(user, 'INBOX', 'messages') // creates the Maildir
      else await createFolder(user, folder)
      const maildir = (await doveadm(['mailbox', 'path', '-u', user, folder])).trim()
      const info = letters.length > 0 ? `:2,${[...new Set(letters)].sort().join('')}` : ''
      const target = path.join(maildir, info ? 'cur' : 'new')
      const tmp = path.join(maildir, 'tmp')
      // Dovecot gives new files their UIDs in the order of the leading
      // seconds of their names: one increasing number per file keeps the
      // array order.
      fileStamp = Math.max(fileStamp, Math.floor(Date.now() / 1000))
      for (const raw of raws) {
        const data = typeof raw === 'string' ? Buffer.from(raw) : raw
        const base = `${fileStamp++}.M${++fileSeq}P${process.pid}.mailslot,S=${data.length},W=${virtualSize(data)}`
        const tmpFile = path.join(tmp, base)
        fs.writeFileSync(tmpFile, data, { mode: 0o600 })
        fs.chownSync(tmpFile, mailUser.uid, mailUser.gid)
        fs.renameSync(tmpFile, path.join(target, base + info))
      }
      return api.count(user, folder)
    },

    async flags (user, folder) {
      const out = await doveadm(['-f', 'tab', 'fetch', '-u', user, 'uid flags', 'mailbox', folder, 'all'])
      const map = new Map<number, string[]>()
      for (const line of out.split('\n').slice(1)) {
        if (!line.trim()) continue
        const [uid, list = ''] = line.split('\t')
        map.set(Number(uid), list.split(' ').filter((f) => f && f !== '\\Recent'))
      }
      return map
    },

    async seen (user, folder) {
      return [...(await api.flags(user, folder)).entries()].filter(([, f]) => f.includes('\\Seen')).map(([uid]) => uid).sort((a, b) => a - b)
    },

    async count (user, folder) {
      return Number(await mailboxStatus(user, folder, 'messages'))
    },

    async uidValidity (user, folder) {
      return BigInt(await mailboxStatus(user, folder, 'uidvalidity'))
    },

    createFolder,

    async deleteFolder (user, name) {
      try {
        await doveadm(['mailbox', 'delete', '-s', '-u', user, name])
        return true
      } catch (err) {
        if (/doesn't exist/i.test((err as { stderr?: string }).stderr ?? '')) return false
        throw err
      }
    },

    doveadm,

    logTail (lines = 30) {
      return tail(readLog(dir), lines)
    },

    async halt () {
      if (halted || stopping) return
      halted = true
      await shutdown(bin.doveadm, conf, child)
      running.delete(pid)
    },

    async resume () {
      if (!halted || stopping) return
      // launch() waits for a fresh "starting up" line: the old log moves aside
      fs.renameSync(logPath, path.join(dir, `dovecot-${++restarts}.log`))
      child = await launch(bin, dir, port, tlsPort, parts.startTimeoutMs)
      pid = child.pid as number
      running.set(pid, dir)
      halted = false
    },

    stop () {
      stopping ??= (async () => {
        await shutdown(bin.doveadm, conf, child)
        running.delete(pid)
        fs.rmSync(dir, { recursive: true, force: true })
      })()
      return stopping
    },
  }
  return api
}

/** Size as served over IMAP: every bare LF becomes CRLF. */
function virtualSize (data: Buffer): number {
  let size = data.length
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) {
    if (i === 0 || data[i - 1] !== 13) size++
  }
  return size
}
