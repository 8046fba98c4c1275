/**
 * The top of a V8 CPU profile (BENCH_PROFILE=<file> of bench:imap, or any
 * `--cpu-prof` output): self time per function and per package or source
 * area, in % of the samples that were not idle.
 *   node scripts/bench/profile-top.ts <file.cpuprofile> [rows]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

const [file, rowsArg] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write('usage: node scripts/bench/profile-top.ts <file.cpuprofile> [rows]\n')
  process.exit(2)
}
const rows = Number(rowsArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map(n => [n.id, n]))
const selfUs = new Map<number, number>()
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))

/** Where a frame's code lives: an npm package, mailslot's own source area, node's internals, or V8's (GC, compiler). */
function areaOf (url: string, name: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1]
  const own = /\/(src\/[^/]+)/.exec(url)
  if (own !== null) return own[1]
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0]
  return url === '' ? `(${name.replace(/^\(|\)$/g, '')})` : url
}

const fn = new Map<string, number>()
const area = new Map<string, number>()
let busy = 0
for (const [id, us] of selfUs) {
  const { callFrame: f } = byId.get(id) as ProfileNode
  if (f.functionName === '(idle)') continue
  busy += us
  const short = f.url.replace(/^.*\/(node_modules|src|scripts)\//, '$1/')
  const key = `${f.functionName === '' ? '(anonymous)' : f.functionName}  ${short}:${f.lineNumber + 1}`
  fn.set(key, (fn.get(key) ?? 0) + us)
  const a = areaOf(f.url, f.functionName)
  area.set(a, (area.get(a) ?? 0) + us)
}
const top = (m: Map<string, number>, n: number): string[] => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([k, us]) => `${(us / busy * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
process.stdout.write(`${file}: ${(busy / 1000).toFixed(0)} ms of samples not idle\n\nby area\n${top(area, 15).join('\n')}\n\nby function\n${top(fn, rows).join('\n')}\n`)
