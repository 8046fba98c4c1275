/** A Standard Webhooks signing secret, `whsec_` and the base64 of its key: webhook deliveries and operator events. */
export const WEBHOOK_SECRET_PATTERN = '^whsec_[A-Za-z0-9+/=]{16,}$'
