/** `mailslot start`: run until SIGTERM/SIGINT, then shut down gracefully. */
import path from 'node:path'
import type { Settings } from '../config/settings.ts'
import { startRuntime, type Role } from '../runtime/start.ts'

export async function runServer (settings: Settings, role: Role): Promise<number> {
  const rt = await startRuntime(settings, { role })
  const { log } = rt.ctx
  if (rt.adminTokenCreated) {
    // printed once, on the terminal only: never through the logger
    process.stdout.write(`\nAdmin API token (generated, kept in ${path.join(settings.dataDir, 'admin-token')}):\n  ${rt.ctx.adminToken}\n\n`)
  }
  log.info({ role, address: rt.address }, 'mailslot started')
  return await new Promise(resolve => {
    let stopping = false
    const shutdown = (signal: string): void => {
      if (stopping) { log.warn({ signal }, 'second signal: exiting now'); process.exit(1) }
      stopping = true
      log.info({ signal }, 'shutting down')
      rt.stop().then(() => { log.info('stopped'); resolve(0) }, err => { log.error({ err }, 'shutdown failed'); resolve(1) })
    }
    process.once('SIGTERM', () => shutdown('SIGTERM'))
    process.once('SIGINT', () => shutdown('SIGINT'))
  })
}
