-- The built-in handler's store: projects, issues, notes, reply keys,
-- unsubscribes and attachments. Every effect row names the inbound email that
-- caused it (UNIQUE), so a replayed or retried email never doubles an effect.
CREATE TABLE projects (
  id                    bigserial PRIMARY KEY,
  path                  text NOT NULL UNIQUE,
  -- GitLab's full_path_slug: lower case, runs of other characters as '-'
  slug                  text NOT NULL,
  incoming_email_token  text NOT NULL,
  service_desk_enabled  boolean NOT NULL DEFAULT false,
  service_desk_key      text UNIQUE,
  -- a custom Service Desk address (support@customer.com), lower case
  custom_email          text UNIQUE,
  -- the wildcard its addresses are built from, e.g. incoming+%{key}@example.com
  address               text,
  last_issue_iid        integer NOT NULL DEFAULT 0,
  created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE issues (
  id                bigserial PRIMARY KEY,
  project_id        bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  iid               integer NOT NULL,
  title             text NOT NULL,
  description       text NOT NULL,
  author            text NOT NULL,
  service_desk      boolean NOT NULL DEFAULT false,
  reply_key         text NOT NULL UNIQUE,
  reply_address     text,
  -- Message-ID of the creating email: Service Desk replies thread by it
  message_id        text,
  inbound_email_id  bigint UNIQUE REFERENCES inbound_emails (id) ON DELETE SET NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, iid)
);
CREATE INDEX issues_message_id ON issues (message_id);

CREATE TABLE notes (
  id                bigserial PRIMARY KEY,
  issue_id          bigint NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
  body              text NOT NULL,
  author            text NOT NULL,
  reply_key         text NOT NULL UNIQUE,
  reply_address     text,
  message_id        text,
  inbound_email_id  bigint UNIQUE REFERENCES inbound_emails (id) ON DELETE SET NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_issue ON notes (issue_id, id);
CREATE INDEX notes_message_id ON notes (message_id);

CREATE TABLE unsubscribes (
  issue_id          bigint NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
  address           text NOT NULL,
  inbound_email_id  bigint REFERENCES inbound_emails (id) ON DELETE SET NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issue_id, address)
);

CREATE TABLE attachments (
  id                bigserial PRIMARY KEY,
  issue_id          bigint REFERENCES issues (id) ON DELETE CASCADE,
  note_id           bigint REFERENCES notes (id) ON DELETE CASCADE,
  filename          text NOT NULL,
  content_type      text NOT NULL,
  size              integer NOT NULL,
  content           bytea NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  CHECK ((issue_id IS NULL) <> (note_id IS NULL))
);
CREATE INDEX attachments_issue ON attachments (issue_id);
CREATE INDEX attachments_note ON attachments (note_id);
