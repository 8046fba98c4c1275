-- Entries the MAILSLOT_CONFIG file declared: a mailbox the file no longer
-- declares is removed only when it carries this mark, so entries created
-- through the API or the CLI are never touched by the file.
ALTER TABLE mailboxes ADD COLUMN declared_by_config boolean NOT NULL DEFAULT false;
ALTER TABLE projects ADD COLUMN declared_by_config boolean NOT NULL DEFAULT false;
