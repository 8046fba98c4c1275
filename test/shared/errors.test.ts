// What a catch got, read one way; third-party errors logged without their properties.
import t from 'tap'
import { Writable } from 'node:stream'
import { asError, bareError, errorCode, errorMessage } from '../../src/shared/errors.ts'
import { createLogger } from '../../src/shared/logger.ts'

t.test('asError and errorMessage take anything thrown', async t => {
  const e = new TypeError('bad')
  t.equal(asError(e), e, 'an Error is itself')
  t.equal(errorMessage(e), 'bad')
  t.equal(errorMessage('text'), 'text')
  t.equal(errorMessage({ message: 'from an object' }), 'from an object')
  t.equal(errorMessage(undefined), 'undefined')
  t.equal(errorMessage(null), 'null')
  t.equal(errorMessage(42), '42')
  t.type(asError('x'), Error)
})

t.test('errorCode: a text code, else undefined', async t => {
  t.equal(errorCode(Object.assign(new Error('x'), { code: 'ENOENT' })), 'ENOENT')
  t.equal(errorCode({ code: '23505' }), '23505')
  t.equal(errorCode({ code: 42 }), undefined)
  t.equal(errorCode(new Error('x')), undefined)
  t.equal(errorCode(null), undefined)
  t.equal(errorCode('ENOENT'), undefined)
})

class SdkError extends Error {
  // as a client library may keep them: the request sent, the command run
  request = { url: 'https://graph.example/v1.0/subscriptions', headers: { Authorization: 'Bearer eyJsekrit' } }
  executedCommand = 'A1 AUTHENTICATE XOAUTH2 dXNlcj1zZWtyaXQ='
  constructor (message: string) { super(message); this.name = 'SdkError' }
}

function logged (obj: object): string {
  let out = ''
  const sink = new Writable({ write (chunk, _enc, done) { out += String(chunk); done() } })
  createLogger('info', sink).warn(obj, 'failed')
  return out
}

t.test('bareError keeps the class, message and stack, and nothing else reaches the log', async t => {
  const e = new SdkError('Graph answered 500')
  const bare = bareError(e)
  t.ok(bare instanceof SdkError)
  t.equal(bare.message, e.message)
  t.equal(bare.stack, e.stack)
  t.notOk('request' in bare)
  t.ok(logged({ err: e }).includes('dXNlcj1zZWtyaXQ='), 'the error itself would log its properties')
  const line = JSON.parse(logged({ mailbox: 'support', err: bare }))
  t.equal(line.err.type, 'SdkError')
  t.equal(line.err.message, 'Graph answered 500')
  t.match(line.err.stack, /^SdkError: Graph answered 500/)
  t.notOk(JSON.stringify(line).includes('sekrit') || JSON.stringify(line).includes('dXNlcj1zZWtyaXQ='))
  t.equal(bareError('thrown text').message, 'thrown text')
})
