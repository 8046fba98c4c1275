// Public surface of parsing: raw mail to a ParsedEmail, and the text of its body.
export { parseEmail, isParseRejection, MAX_ATTACHMENT_BYTES } from './parse.ts'
export type { ParseOptions } from './parse.ts'
export { replyBody, issueDescription, bodyText } from './body.ts'
export { KEY_HEADERS } from './types.ts'
export type { ParsedEmail, ParsedAttachment, MailAddress, DeliveryHeaders, ParseRejection, KeyHeader } from './types.ts'
