-- Reason codes (too_complex, bounce, loop among them) are listed once, in
-- src/inbound/lifecycle.ts; the database keeps the rule they serve: a
-- rejected email has its reason. NOT VALID: enforced on every write without
-- scanning the rows already there.
ALTER TABLE inbound_emails ADD CONSTRAINT inbound_emails_rejected_reason
  CHECK (status <> 'rejected' OR reason IS NOT NULL) NOT VALID;
