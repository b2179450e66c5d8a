-- Attachments for the inbox face: an upload may be anonymous until a sender claims it
-- (UPLOAD_ALLOW_ANONYMOUS), and an S3 attachment remembers when the last presigned URL handed
-- out for it stops working (check-url). SQLite cannot drop NOT NULL in place, so the table is
-- rebuilt. messages.attachment_id refers to it by name: foreign keys are deferred to the end of
-- this migration's transaction, the old rows are dropped (leaving those references dangling
-- for a moment) and copied back with the same ids, which settles them before COMMIT; a row
-- that did not come back would fail the COMMIT and roll the whole migration back.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE attachments_copy AS SELECT * FROM attachments;
-- AUTOINCREMENT's high-water mark goes with the table: kept, so that no id is used twice.
CREATE TABLE attachments_seq AS SELECT seq FROM sqlite_sequence WHERE name = 'attachments';
DROP TABLE attachments;

CREATE TABLE attachments (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  -- Null: uploaded without a token, not yet claimed by a message's sender.
  uploader_id    INTEGER REFERENCES users (id),
  storage        TEXT    NOT NULL CHECK (storage IN ('local', 's3')),
  -- Generated storage name; the client's file name is only kept as `name`.
  key            TEXT    NOT NULL UNIQUE,
  name           TEXT    NOT NULL,
  content_type   TEXT    NOT NULL,
  size           INTEGER NOT NULL CHECK (size >= 0),
  created_at     INTEGER NOT NULL,
  -- S3: when the last presigned URL handed out stops working (ms); null for local files.
  url_expires_at INTEGER
);

INSERT INTO attachments (id, uploader_id, storage, key, name, content_type, size, created_at)
  SELECT id, uploader_id, storage, key, name, content_type, size, created_at
  FROM attachments_copy ORDER BY id;
DELETE FROM sqlite_sequence WHERE name = 'attachments';
INSERT INTO sqlite_sequence (name, seq) SELECT 'attachments', seq FROM attachments_seq;
DROP TABLE attachments_copy;
DROP TABLE attachments_seq;
