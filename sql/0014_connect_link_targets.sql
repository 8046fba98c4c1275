-- Connect links (src/oauth/connect/): what a link creates or reconnects.
-- mailbox_id: the mailbox a reconnect link is for (NULL: the link creates the
-- mailbox its `mailbox` JSON describes). Deleting the mailbox voids its links.
ALTER TABLE connect_links ADD COLUMN mailbox_id bigint REFERENCES mailboxes (id) ON DELETE CASCADE;
-- sealed secrets of the new mailbox's JSON (a webhook delivery's secret), as mailboxes.secrets
ALTER TABLE connect_links ADD COLUMN secrets bytea;

CREATE INDEX connect_links_mailbox_id ON connect_links (mailbox_id);
-- the admin page lists the newest links
CREATE INDEX connect_links_created_at ON connect_links (created_at DESC);
