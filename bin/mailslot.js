#!/usr/bin/env node
// Runs src/cli.ts with Node's type stripping (Node >= 22.12); on an older
// Node, hands over to scripts/with-node.sh, which brings Node 24.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const [major, minor] = process.versions.node.split('.').map(Number)
if (major > 22 || (major === 22 && minor >= 18)) {
  await import(path.join(root, 'src', 'cli.ts'))
} else {
  const r = spawnSync('sh', [path.join(root, 'scripts', 'with-node.sh'), 'node', path.join(root, 'src', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
