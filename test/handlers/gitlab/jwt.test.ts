import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { MAILROOM_ISSUER, mailroomToken, mailroomUrl } from '../../../src/handlers/gitlab/jwt.ts'
import { decodeSecret, gitlabSecret } from '../../../src/handlers/gitlab/secret.ts'
import { verifyLikeGitlab } from '../delivery-endpoint.ts'

const secret = new Uint8Array(randomBytes(32))

t.test('the token passes GitLab\'s check: HS256, issuer, fresh iat, a nonce', async t => {
  const token = await mailroomToken(secret)
  const payload = await verifyLikeGitlab(token, secret)
  t.equal(payload.iss, MAILROOM_ISSUER)
  t.ok(Math.abs((payload.iat as number) - Date.now() / 1000) < 5, 'iat is now')
  t.match(payload.nonce, /^[0-9a-f]{24}$/)
  t.same(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' })
  t.not(decodeJwt(await mailroomToken(secret)).nonce, payload.nonce, 'a fresh nonce per token')
})

t.test('GitLab refuses a token signed with another secret, or older than 5 minutes', async t => {
  await t.rejects(verifyLikeGitlab(await mailroomToken(new Uint8Array(randomBytes(32))), secret), /signature/)
  await t.rejects(verifyLikeGitlab(await mailroomToken(secret, Date.now() - 6 * 60_000), secret), /"iat" claim timestamp check failed|age/)
  t.ok(await verifyLikeGitlab(await mailroomToken(secret, Date.now() - 4 * 60_000), secret), '4 minutes old is still fine')
})

t.test('the endpoint is <url>/api/v4/internal/mail_room/<type>', async t => {
  t.equal(mailroomUrl('https://gitlab.example.com', 'incoming_email'), 'https://gitlab.example.com/api/v4/internal/mail_room/incoming_email')
  t.equal(mailroomUrl('https://example.com/gitlab/', 'service_desk_email'), 'https://example.com/gitlab/api/v4/internal/mail_room/service_desk_email')
})

t.test('secret file format: GitLab\'s read_secret (chomp, strict base64, 32 bytes)', async t => {
  const b64 = Buffer.from(secret).toString('base64')
  t.same(decodeSecret('f', b64), secret, 'no newline')
  t.same(decodeSecret('f', `${b64}\n`), secret, 'one trailing newline, as `echo` writes')
  t.same(decodeSecret('f', `${b64}\r\n`), secret, 'CRLF')
  const bad: Array<[string, RegExp]> = [
    [`${b64}\n\n`, /base64/],
    [` ${b64}`, /base64/],
    [b64.slice(0, -1), /base64/],
    ['not base64 at all!', /base64/],
    ['', /holds 0/],
    [randomBytes(31).toString('base64'), /exactly 32 bytes.*holds 31/],
    [randomBytes(64).toString('base64'), /holds 64/]
  ]
  for (const [text, problem] of bad) {
    t.throws(() => decodeSecret('/etc/gitlab/.secret', text), problem)
    t.throws(() => decodeSecret('/etc/gitlab/.secret', text), /^GitLab secret file \/etc\/gitlab\/\.secret /, 'names the file')
  }
  try { decodeSecret('f', 'c2VjcmV0LWNvbnRlbnQ=') } catch (err) {
    t.notMatch((err as Error).message, /c2VjcmV0|secret-content/, 'never the content')
  }
})

t.test('secret file: read once, re-read when it changes, clear errors when missing', async t => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailslot-secret-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, '.gitlab_mailroom_secret')
  await t.rejects(gitlabSecret(file), { message: `GitLab secret file ${file} cannot be read (ENOENT)` })

  const first = randomBytes(32)
  await writeFile(file, `${first.toString('base64')}\n`)
  const now = Date.now()
  t.same(await gitlabSecret(file, now), new Uint8Array(first))

  const second = randomBytes(32)
  await writeFile(file, `${second.toString('base64')}\n`)
  t.same(await gitlabSecret(file, now + 10), new Uint8Array(first), 'cached within a second')
  t.same(await gitlabSecret(file, now + 1500), new Uint8Array(second), 'the rotated secret after a second')

  await unlink(file)
  await t.rejects(gitlabSecret(file, now + 3000), /cannot be read \(ENOENT\)/, 'a removed file is noticed')
  await t.rejects(gitlabSecret(dir), /is not a regular file/)
  await writeFile(file, 'x'.repeat(5000))
  await t.rejects(gitlabSecret(file, now + 5000), /5000 bytes long/)
})
