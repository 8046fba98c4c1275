/**
 * How `mailslot dev send` finds the environment `npm run dev` started: a
 * file in the dev data dir (MAILSLOT_DEV_DIR, default `./.mailslot-dev`),
 * written once everything is up and removed when it stops. It holds
 * credentials of throw-away local services only; mode 0600 all the same.
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { errorCode } from '../shared/errors.ts'
import { alive } from '../db/embedded.ts'

export interface DevImapMailbox {
  name: string
  provider: 'imap'
  address: string
  imap: { host: string, port: number, user: string, password: string }
}

export interface DevGraphMailbox {
  name: string
  provider: 'graph'
  address: string
  /** `inbox` takes a POSTed raw message into the fake's Inbox of `user` (Bearer `token`). */
  graph: { url: string, user: string, inbox: string, token: string }
}

export type DevMailbox = DevImapMailbox | DevGraphMailbox

export interface DevState {
  /** The `npm run dev` process. */
  pid: number
  /** mailslot's base URL, e.g. `http://127.0.0.1:3000`. */
  url: string
  adminToken: string
  project: { id: number, path: string, issueAddress: string, serviceDeskAddress: string }
  /** The first is `dev send`'s default. */
  mailboxes: DevMailbox[]
  /** Pids of the processes it started, for a look at what runs (and for its test). */
  pids: { dovecot: number }
}

export const DEV_STATE_FILE = 'running.json'

/** MAILSLOT_DEV_DIR, or `.mailslot-dev` in the working directory. */
export function devDir (env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.MAILSLOT_DEV_DIR === undefined || env.MAILSLOT_DEV_DIR === '' ? '.mailslot-dev' : env.MAILSLOT_DEV_DIR)
}

/** The running environment's state; undefined when none runs (no file, or its process is gone). */
export async function runningDevState (dir: string): Promise<DevState | undefined> {
  let text: string
  try { text = await readFile(path.join(dir, DEV_STATE_FILE), 'utf8') } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined
    throw err
  }
  const state = JSON.parse(text) as DevState
  return alive(state.pid) ? state : undefined
}

export async function writeDevState (dir: string, state: DevState): Promise<void> {
  await writeFile(path.join(dir, DEV_STATE_FILE), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 })
}

export async function removeDevState (dir: string): Promise<void> {
  await rm(path.join(dir, DEV_STATE_FILE), { force: true })
}
