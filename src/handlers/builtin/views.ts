/** What the API shows of built-in projects and issues. */
import type { Queryable } from '../../db/pool.ts'
import { addressFor, type Project } from './projects.ts'

export interface ProjectView extends Project {
  addresses: { issue: string | null, serviceDesk: string | null }
}

export function projectView (p: Project): ProjectView {
  return {
    ...p,
    addresses: {
      issue: addressFor(p.address, `${p.slug}-${p.id}-${p.incomingEmailToken}-issue`),
      serviceDesk: p.serviceDesk ? addressFor(p.address, `${p.slug}-${p.id}-issue-`) : null
    }
  }
}

interface AttachmentView { filename: string, contentType: string, size: number }
interface NoteView {
  id: number, body: string, author: string, replyKey: string, replyAddress: string | null, createdAt: string, attachments: AttachmentView[]
}
export interface IssueView {
  id: number, iid: number, title: string, description: string, author: string, serviceDesk: boolean,
  replyKey: string, replyAddress: string | null, createdAt: string, attachments: AttachmentView[], notes: NoteView[], unsubscribed: string[]
}

export async function listIssues (db: Queryable, projectId: number): Promise<IssueView[]> {
  const { rows } = await db.query<{ issue: IssueView }>(
    `SELECT json_build_object(
       'id', i.id, 'iid', i.iid, 'title', i.title, 'description', i.description, 'author', i.author,
       'serviceDesk', i.service_desk, 'replyKey', i.reply_key, 'replyAddress', i.reply_address, 'createdAt', i.created_at,
       'attachments', coalesce((SELECT json_agg(json_build_object('filename', a.filename, 'contentType', a.content_type, 'size', a.size) ORDER BY a.id)
                                FROM attachments a WHERE a.issue_id = i.id), '[]'),
       'notes', coalesce((SELECT json_agg(json_build_object(
                   'id', n.id, 'body', n.body, 'author', n.author, 'replyKey', n.reply_key, 'replyAddress', n.reply_address, 'createdAt', n.created_at,
                   'attachments', coalesce((SELECT json_agg(json_build_object('filename', a.filename, 'contentType', a.content_type, 'size', a.size) ORDER BY a.id)
                                            FROM attachments a WHERE a.note_id = n.id), '[]')) ORDER BY n.id)
                  FROM notes n WHERE n.issue_id = i.id), '[]'),
       'unsubscribed', coalesce((SELECT json_agg(u.address ORDER BY u.address) FROM unsubscribes u WHERE u.issue_id = i.id), '[]')
     ) AS issue
     FROM issues i WHERE i.project_id = $1 ORDER BY i.iid`, [projectId])
  return rows.map(r => r.issue)
}
