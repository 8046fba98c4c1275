-- Microsoft Graph change notifications (src/graph).

-- One subscription per webhook-mode Graph mailbox (the primary key makes a
-- second one impossible). States: active (live until expires_at), failed
-- (create/renew failed: last_error; retried at next_attempt_at; the mailbox
-- is polled meanwhile), unavailable (no MAILSLOT_PUBLIC_URL: polled),
-- removed (Graph removed it; being recreated).
CREATE TABLE graph_subscriptions (
  mailbox_id        bigint PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
  subscription_id   text UNIQUE,
  -- the clientState Graph echoes in every notification, AES-256-GCM sealed
  client_state      bytea,
  resource          text,
  notification_url  text,
  expires_at        timestamptz,
  state             text NOT NULL CHECK (state IN ('active', 'failed', 'unavailable', 'removed')),
  last_error        text,
  failures          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX graph_subscriptions_due ON graph_subscriptions (expires_at) WHERE state = 'active';

-- Every accepted change notification item: an append-only audit log, purged
-- after a day by the graph-subscription-scan job. No unique key (it would
-- cost PostgreSQL more than twice the insert): a redelivered notification is
-- absorbed downstream, by the one waiting sync per mailbox and the unique
-- keys of inbound_emails. No foreign key: a notification for a mailbox
-- deleted a moment ago must still be accepted (its sync finds nothing).
CREATE TABLE graph_notifications (
  subscription_id  text NOT NULL,
  -- resourceData.id: the message id
  resource_id      text NOT NULL,
  change_type      text NOT NULL,
  mailbox_id       bigint NOT NULL,
  received_at      timestamptz NOT NULL DEFAULT now()
);
-- BRIN: rows arrive in time order; next to nothing to maintain per insert
CREATE INDEX graph_notifications_received_at ON graph_notifications USING brin (received_at);
