-- Room for the largest values validation accepts. An address is stored as
-- JSON: 8 fields of up to 200 characters, 4 bytes each, and JSON escapes of
-- up to 6 bytes per character (<, >, &, ' are escaped) exceed 4096 bytes.
-- An interaction's attributes (up to 100 entries of 64 + 1024 characters)
-- exceed a TEXT column's 65535 bytes in the same way.
ALTER TABLE contacts MODIFY address BLOB NULL;
ALTER TABLE interactions MODIFY attributes MEDIUMTEXT NULL;
