/**
 * CPU time spent during a benchmark run, by whom: this Node process (all its
 * threads), PostgreSQL and Dovecot (every process of each, with the time of
 * those that ended meanwhile, which their parent reaped). On a machine of two
 * cores this says what bounds a run: the busier side cannot finish sooner
 * than its CPU seconds, nor the whole run sooner than the sum over the cores.
 * Read from /proc (Linux); elsewhere only the Node figure is given.
 */
import { readFileSync, readdirSync } from 'node:fs'
import os from 'node:os'

export type CpuSide = 'node' | 'postgres' | 'dovecot'
export type CpuSeconds = Record<CpuSide, number>

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux this runs on. */
const TICKS = 100

function sideOf (pid: string): CpuSide | null {
  try {
    // Dovecot's master is `dovecot`; its children say `dovecot-<instance>/imap` in their command line
    const comm = readFileSync(`/proc/${pid}/comm`, 'latin1').trim()
    if (comm === 'postgres') return 'postgres'
    if (comm === 'dovecot' || readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('dovecot')) return 'dovecot'
    return null
  } catch { return null } // ended meanwhile
}

/** Own and reaped children's user + system ticks of a process. */
function ticksOf (pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
  } catch { return 0 }
}

function snapshot (): Map<string, { side: CpuSide, ticks: number }> {
  const seen = new Map<string, { side: CpuSide, ticks: number }>()
  if (os.platform() !== 'linux') return seen
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    const side = sideOf(pid)
    if (side !== null) seen.set(pid, { side, ticks: ticksOf(pid) })
  }
  return seen
}

/** Starts counting; the returned function gives the CPU seconds of each side since. */
export function cpuMeter (): () => CpuSeconds {
  const before = snapshot()
  const node = process.cpuUsage()
  return () => {
    const used: CpuSeconds = { node: 0, postgres: 0, dovecot: 0 }
    for (const [pid, now] of snapshot()) used[now.side] += (now.ticks - (before.get(pid)?.ticks ?? 0)) / TICKS
    const n = process.cpuUsage(node)
    used.node = (n.user + n.system) / 1e6
    return used
  }
}

export function cpuTotal (c: CpuSeconds): number {
  return c.node + c.postgres + c.dovecot
}

export function formatCpu (c: CpuSeconds): string {
  return `${cpuTotal(c).toFixed(2)} CPU-s (node ${c.node.toFixed(2)}, postgres ${c.postgres.toFixed(2)}, dovecot ${c.dovecot.toFixed(2)})`
}

/** Parent pid of each process now running. */
function parents (): Map<number, number> {
  const ppid = new Map<number, number>()
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
      ppid.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {} // ended meanwhile
  }
  return ppid
}

/**
 * CPU seconds so far of the process trees under `roots` (each process's own
 * time and its reaped children's): a child that ends moves its time into its
 * parent's, so the sum only grows, and the difference of two readings is
 * what the trees used between them. Linux only.
 */
export function treeCpuSeconds (roots: number[]): number {
  const ppid = parents()
  const inTree = new Set(roots)
  for (let grew = true; grew;) {
    grew = false
    for (const [pid, parent] of ppid) if (!inTree.has(pid) && inTree.has(parent)) { inTree.add(pid); grew = true }
  }
  let ticks = 0
  for (const pid of inTree) ticks += ticksOf(String(pid))
  return ticks / TICKS
}

/** Resident set size of a process, in bytes (0 once it has ended). */
export function rssOf (pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1]
    return Number(kb ?? 0) * 1024
  } catch { return 0 }
}
