-- PostgreSQL twin of ../0003_attachment_urls.sql. PostgreSQL drops NOT NULL in place, so
-- the table SQLite has to rebuild is altered here; ids and their sequence stay as they are.
ALTER TABLE attachments ALTER COLUMN uploader_id DROP NOT NULL;
ALTER TABLE attachments ADD COLUMN url_expires_at BIGINT;
