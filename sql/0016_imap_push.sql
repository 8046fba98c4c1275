-- IMAP push (imap.push: true): which process holds a mailbox's one IDLE
-- connection. Owner: src/mailboxes/push-leases.ts. A lease is renewed by its
-- holder every few seconds; one left to expire (its holder died or lost the
-- database) is taken by another process. A deleted mailbox takes its lease
-- along, and its holder lets the connection go at its next renewal.
CREATE TABLE imap_push_leases (
  mailbox_id   bigint PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
  -- host:pid:random of the holding process, new at every start
  holder       text NOT NULL,
  expires_at   timestamptz NOT NULL,
  acquired_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX imap_push_leases_holder ON imap_push_leases (holder);

-- the renewal reads the mailboxes with push on at every turn: only those
CREATE INDEX mailboxes_imap_push ON mailboxes (id) WHERE config -> 'imap' ->> 'push' = 'true';
