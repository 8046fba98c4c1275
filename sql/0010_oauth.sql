-- Customers connect their own mailbox through OAuth (docs/contract.md, "OAuth
-- apps, connect links and status links"). Each table has one owner in src:
--   oauth_apps        src/oauth/apps/
--   oauth_connections src/oauth/connections/
--   connect_links,
--   oauth_states      src/oauth/connect/
--   status_links      src/status-links/
-- Every secret is sealed (AES-256-GCM, src/shared/crypto.ts); every link token
-- and state is stored as its SHA-256 only, so the table alone opens nothing.

-- One app registration at an identity provider.
CREATE TABLE oauth_apps (
  id                  bigserial PRIMARY KEY,
  name                text NOT NULL UNIQUE,
  kind                text NOT NULL CHECK (kind IN ('microsoft', 'google')),
  -- the app JSON without clientSecret
  config              jsonb NOT NULL,
  -- sealed {"clientSecret": …}
  secrets             bytea NOT NULL,
  declared_by_config  boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- A mailbox's grant from one account to one app: its tokens. One per mailbox;
-- a reconnect replaces the tokens in place. An app in use cannot be deleted.
CREATE TABLE oauth_connections (
  id                  bigserial PRIMARY KEY,
  mailbox_id          bigint NOT NULL UNIQUE REFERENCES mailboxes (id) ON DELETE CASCADE,
  app_id              bigint NOT NULL REFERENCES oauth_apps (id),
  -- the address read from the ID token or user info
  account             text NOT NULL,
  -- the ID token's sub (and tid for Microsoft): who granted it
  subject             text NOT NULL,
  tenant_id           text,
  state               text NOT NULL DEFAULT 'connected' CHECK (state IN ('connected', 'reauth_required')),
  -- sealed {"accessToken": …, "refreshToken": …}
  tokens              bytea NOT NULL,
  access_expires_at   timestamptz NOT NULL,
  connected_at        timestamptz NOT NULL DEFAULT now(),
  refreshed_at        timestamptz,
  last_error          text
);

CREATE INDEX oauth_connections_app_id ON oauth_connections (app_id);

-- A signed, expiring, single-use link a customer opens to connect a mailbox.
CREATE TABLE connect_links (
  -- public id (API answers); the URL carries a separate secret token
  id                  text PRIMARY KEY,
  token_hash          bytea NOT NULL UNIQUE,
  -- {"name": "<existing mailbox>"} to reconnect, or the mailbox JSON to create
  mailbox             jsonb NOT NULL,
  apps                text[] NOT NULL,
  -- the account of the mailbox being reconnected, sent as login_hint
  login_hint          text,
  expires_at          timestamptz NOT NULL,
  used_at             timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now()
);

-- One authorization request in flight: the OAuth `state`, bound to its link.
CREATE TABLE oauth_states (
  state_hash          bytea PRIMARY KEY,
  link_id             text NOT NULL REFERENCES connect_links (id) ON DELETE CASCADE,
  app_name            text NOT NULL,
  -- sealed {"codeVerifier": …, "nonce": …}
  secrets             bytea NOT NULL,
  expires_at          timestamptz NOT NULL,
  used_at             timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX oauth_states_link_id ON oauth_states (link_id);

-- A read-only status page of one mailbox for its owner.
CREATE TABLE status_links (
  token_hash          bytea PRIMARY KEY,
  mailbox_id          bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  expires_at          timestamptz NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX status_links_mailbox_id ON status_links (mailbox_id);

-- A mailbox whose grant was revoked waits for its owner to reconnect.
ALTER TABLE mailboxes DROP CONSTRAINT mailboxes_health_state_check;
ALTER TABLE mailboxes ADD CONSTRAINT mailboxes_health_state_check
  CHECK (health_state IN ('pending', 'ok', 'failing', 'auth_failed', 'reauth_required'));
