-- Mailboxes: what to read, how, and where its mail goes.
-- `config` holds the mailbox JSON without its secrets; `secrets` holds the
-- secrets as AES-256-GCM ciphertext (never plain text in the database).
CREATE TABLE mailboxes (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  provider      text NOT NULL CHECK (provider IN ('imap', 'graph')),
  config        jsonb NOT NULL,
  secrets       bytea,
  -- provider cursor, e.g. IMAP {uidValidity, lastUid} or a Graph deltaLink
  cursor        jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- health (see src/mailboxes/health.ts)
  health_state          text NOT NULL DEFAULT 'pending'
                        CHECK (health_state IN ('pending', 'ok', 'failing', 'auth_failed')),
  last_poll_at          timestamptz,
  last_success_at       timestamptz,
  last_error            text,
  consecutive_failures  integer NOT NULL DEFAULT 0,
  -- scheduling: the controller queues a sync when next_poll_at has passed
  next_poll_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX mailboxes_next_poll_at ON mailboxes (next_poll_at);
