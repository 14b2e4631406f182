-- Contacts, their e-mails/phones/tags/attributes, and interactions.
-- Portable SQL: runs on MySQL 8.0 and MariaDB 10.11. All times are UTC
-- DATETIME(6). Enum columns store the proto enum numbers (never renumber).

CREATE TABLE contacts (
  id BIGINT NOT NULL AUTO_INCREMENT,
  given_name VARCHAR(200) NOT NULL DEFAULT '',
  family_name VARCHAR(200) NOT NULL DEFAULT '',
  display_name VARCHAR(400) NOT NULL DEFAULT '',
  company VARCHAR(200) NOT NULL DEFAULT '',
  job_title VARCHAR(200) NOT NULL DEFAULT '',
  owner VARCHAR(200) NOT NULL DEFAULT '',
  source VARCHAR(200) NOT NULL DEFAULT '',
  lifecycle_stage TINYINT NOT NULL DEFAULT 1,
  email_opt_in TINYINT NOT NULL DEFAULT 0,
  sms_opt_in TINYINT NOT NULL DEFAULT 0,
  do_not_contact TINYINT NOT NULL DEFAULT 0,
  -- Serialized rapport.v1.PostalAddress; NULL when unset.
  address VARBINARY(4096) NULL,
  -- Lower-cased names, e-mails, phones and company for free-text `query`.
  search_text VARCHAR(4000) NOT NULL DEFAULT '',
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  delete_time DATETIME(6) NULL,
  last_interaction_time DATETIME(6) NULL,
  -- Bumped on every change; the etag is derived from it.
  version BIGINT NOT NULL DEFAULT 1,
  merged_into BIGINT NULL,
  PRIMARY KEY (id),
  KEY contacts_by_stage (lifecycle_stage, id),
  KEY contacts_by_company (company, id),
  KEY contacts_by_owner (owner, id),
  KEY contacts_by_given_name (given_name, id),
  KEY contacts_by_family_name (family_name, id),
  KEY contacts_by_display_name (display_name(191), id),
  KEY contacts_by_create_time (create_time, id),
  KEY contacts_by_update_time (update_time, id),
  KEY contacts_by_last_interaction (last_interaction_time, id),
  KEY contacts_by_delete_time (delete_time, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- `live` is 1 while the contact is not deleted and NULL after; the unique key
-- on (email, live) makes an e-mail unique among live contacts only (NULLs
-- never collide in a unique key, on MySQL and MariaDB alike).
CREATE TABLE contact_emails (
  contact_id BIGINT NOT NULL,
  position SMALLINT NOT NULL,
  email VARCHAR(320) NOT NULL,
  live TINYINT NULL,
  PRIMARY KEY (contact_id, position),
  UNIQUE KEY contact_emails_live (email, live),
  CONSTRAINT contact_emails_contact FOREIGN KEY (contact_id)
    REFERENCES contacts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE contact_phones (
  contact_id BIGINT NOT NULL,
  position SMALLINT NOT NULL,
  phone VARCHAR(32) NOT NULL,
  PRIMARY KEY (contact_id, position),
  KEY contact_phones_by_phone (phone, contact_id),
  CONSTRAINT contact_phones_contact FOREIGN KEY (contact_id)
    REFERENCES contacts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE contact_tags (
  contact_id BIGINT NOT NULL,
  tag VARCHAR(64) NOT NULL,
  PRIMARY KEY (contact_id, tag),
  KEY contact_tags_by_tag (tag, contact_id),
  CONSTRAINT contact_tags_contact FOREIGN KEY (contact_id)
    REFERENCES contacts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE contact_attributes (
  contact_id BIGINT NOT NULL,
  name VARCHAR(64) NOT NULL,
  value VARCHAR(1024) NOT NULL,
  PRIMARY KEY (contact_id, name),
  KEY contact_attributes_by_value (name, value(191), contact_id),
  CONSTRAINT contact_attributes_contact FOREIGN KEY (contact_id)
    REFERENCES contacts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE interactions (
  id BIGINT NOT NULL AUTO_INCREMENT,
  contact_id BIGINT NOT NULL,
  type TINYINT NOT NULL,
  channel VARCHAR(64) NOT NULL DEFAULT '',
  direction TINYINT NOT NULL DEFAULT 0,
  occur_time DATETIME(6) NOT NULL,
  subject VARCHAR(500) NOT NULL DEFAULT '',
  body MEDIUMTEXT NULL,
  amount_currency CHAR(3) NULL,
  amount_minor BIGINT NULL,
  -- JSON object of string values; NULL when there are none.
  attributes TEXT NULL,
  actor VARCHAR(200) NOT NULL DEFAULT '',
  create_time DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY interactions_by_contact (contact_id, occur_time, id),
  KEY interactions_by_occur_time (occur_time, id),
  KEY interactions_by_type (type, occur_time, id),
  CONSTRAINT interactions_contact FOREIGN KEY (contact_id)
    REFERENCES contacts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Idempotency keys of creates: the same (kind, request_id) returns the
-- resource the first call created.
CREATE TABLE request_ids (
  kind VARCHAR(32) NOT NULL,
  request_id VARCHAR(128) NOT NULL,
  resource_id BIGINT NOT NULL,
  create_time DATETIME(6) NOT NULL,
  PRIMARY KEY (kind, request_id),
  KEY request_ids_by_resource (kind, resource_id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Privacy erasures: proof that an erasure happened, with no personal data.
CREATE TABLE erasures (
  id BIGINT NOT NULL AUTO_INCREMENT,
  contact_id BIGINT NOT NULL,
  erase_time DATETIME(6) NOT NULL,
  erased_interaction_count BIGINT NOT NULL,
  request_id VARCHAR(128) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY erasures_by_contact (contact_id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
