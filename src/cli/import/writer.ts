/** The imported configuration as YAML (the report as a comment block on top) and the report as text lines. */
import { Document, isMap, isScalar, isSeq, visit } from 'yaml'
import type { Imported, ReportLine } from './mapping.ts'

const PREFIX: Record<ReportLine['level'], string> = { info: '', warning: 'warning: ', error: 'error: ' }

export function reportText (lines: ReportLine[]): string[] {
  return lines.map(l => `${PREFIX[l.level]}${l.mailbox === undefined ? '' : `${l.mailbox}: `}${l.text}`)
}

/** The env vars of all secret references, for the "before you start" lines. */
export const envVars = (imported: Imported): string[] => [...new Set(imported.mailboxes.flatMap(m => m.env))]

export function renderYaml (imported: Imported, header: string[]): string {
  const doc = new Document({ mailboxes: imported.mailboxes.map(m => m.spec) })
  // secret references on one line: `password: { env: NAME }`
  visit(doc, {
    Map (_, node) {
      const keys = node.items.map(p => isScalar(p.key) ? p.key.value : undefined)
      if (keys.length === 1 && (keys[0] === 'env' || keys[0] === 'file')) node.flow = true
    }
  })
  const seq = doc.get('mailboxes', true)
  if (isSeq(seq)) {
    seq.items.forEach((item, i) => {
      const comments = imported.mailboxes[i].comments
      if (isMap(item) && comments.length > 0) item.commentBefore = comments.map(c => ` ${c}`).join('\n')
    })
  }
  doc.commentBefore = header.map(l => ` ${l}`).join('\n')
  return doc.toString({ lineWidth: 0 })
}
