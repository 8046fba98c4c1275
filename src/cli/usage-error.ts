/** Wrong command-line use: the message and the usage, exit 2. */
export class UsageError extends Error {}
