-- Every email mailslot took from a provider, and what became of it.
-- Lifecycle: received → processing → delivered | rejected | failed
-- (see src/inbound/lifecycle.ts). Raw bytes live in inbound_email_raw so that
-- listings never read them.
CREATE TABLE inbound_emails (
  id             bigserial PRIMARY KEY,
  mailbox_id     bigint REFERENCES mailboxes (id) ON DELETE SET NULL,
  mailbox_name   text NOT NULL,
  -- the provider's key for the message within the mailbox:
  -- IMAP "<uidvalidity>:<uid>", Graph the immutable message id
  provider_key   text NOT NULL,
  -- the Message-ID header, or <sha256@mailslot> when it has none
  message_id     text NOT NULL,
  checksum       bytea NOT NULL,
  size           integer NOT NULL,
  -- false when only the headers were kept (too large to download)
  raw_complete   boolean NOT NULL DEFAULT true,
  status         text NOT NULL DEFAULT 'received'
                 CHECK (status IN ('received', 'processing', 'delivered', 'rejected', 'failed')),
  reason         text,
  handler        text,
  result         jsonb,
  parsed         jsonb,
  attempts       integer NOT NULL DEFAULT 0,
  last_error     text,
  received_at    timestamptz NOT NULL DEFAULT now(),
  handled_at     timestamptz,
  raw_purged_at  timestamptz
);

-- one provider message gives at most one row ...
CREATE UNIQUE INDEX inbound_emails_provider_key ON inbound_emails (mailbox_id, provider_key);
-- ... and the same message reached by another key (a UIDVALIDITY change, the
-- webhook and the polling path) is recognised by Message-ID + checksum
CREATE UNIQUE INDEX inbound_emails_message ON inbound_emails (mailbox_id, message_id, checksum);
CREATE INDEX inbound_emails_status ON inbound_emails (status, id);
CREATE INDEX inbound_emails_mailbox ON inbound_emails (mailbox_name, id);
CREATE INDEX inbound_emails_retention ON inbound_emails (received_at) WHERE raw_purged_at IS NULL;

CREATE TABLE inbound_email_raw (
  email_id  bigint PRIMARY KEY REFERENCES inbound_emails (id) ON DELETE CASCADE,
  raw       bytea NOT NULL
);
ALTER TABLE inbound_email_raw ALTER COLUMN raw SET STORAGE EXTERNAL; -- already compressed or not worth it

