-- A read copy of each contact's e-mails, phones, tags and attributes in its
-- own row. Reading them as four correlated subqueries per contact made a
-- GetContact cost ~3x a plain primary-key read (measured with mariadb-slap,
-- 16 clients, 100k contacts: ~10k against ~29k queries/s), and a listing
-- pays that for each of its rows.
--
-- The child tables stay the truth (filters, e-mail uniqueness, plugins read
-- them); rapportd writes these columns in the same transaction as the child
-- rows (server/storage/contact_rows.cc). The copy is current only while
-- lists_version equals version: a rapportd from before this migration (a
-- rolling upgrade) bumps version without writing the copy, and readers then
-- fall back to the child tables for that contact.
--
-- Same formats as those subqueries: '\n'-separated lists (e-mails and phones
-- by position, tags in code point order), attributes as a JSON object; NULL
-- when empty. Tags used to be listed in the column collation's order, which
-- only the database knows; code point order lets rapportd write the copy with
-- the row instead of in a second statement.
ALTER TABLE contacts
  ADD COLUMN lists_version BIGINT NULL,
  ADD COLUMN emails_list TEXT NULL,
  ADD COLUMN phones_list TEXT NULL,
  ADD COLUMN tags_list TEXT NULL,
  ADD COLUMN attributes_json MEDIUMTEXT NULL;
