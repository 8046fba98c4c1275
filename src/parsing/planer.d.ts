// planer ships no type declarations; this is the one function we call.
declare module 'planer' {
  /** The message text with the quoted original (and its "On … wrote:" / "From: … Sent:" header) cut off. */
  export function extractFromPlain (msgBody: string): string
  const planer: { extractFromPlain: typeof extractFromPlain }
  export default planer
}
