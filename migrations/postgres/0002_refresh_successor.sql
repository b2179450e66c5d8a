-- PostgreSQL twin of ../0002_refresh_successor.sql.
ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT;
