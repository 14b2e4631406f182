-- API keys and the audit trail. See server/auth/ and server/audit/.

-- One row per API key. Only the SHA-256 of the secret is stored (hex);
-- secrets are 256 random bits, so a fast hash is as good as a slow one.
-- secret_prefix: the secret's first characters, shown to tell keys apart.
-- role: ADMIN, AGENT, READER or a plugin-scoped role.
CREATE TABLE api_keys (
  id VARCHAR(32) NOT NULL,
  secret_hash CHAR(64) NOT NULL,
  secret_prefix VARCHAR(16) NOT NULL,
  display_name VARCHAR(800) NOT NULL,
  role VARCHAR(190) NOT NULL,
  creator VARCHAR(190) NOT NULL,
  create_time DATETIME(6) NOT NULL,
  expire_time DATETIME(6) NULL,
  revoke_time DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY api_keys_by_hash (secret_hash),
  KEY api_keys_by_time (create_time, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Append-only: the server only ever INSERTs here (and reads). code: the
-- canonical status code name. No column holds a contact's personal data,
-- so erasure leaves these rows alone.
CREATE TABLE audit_events (
  id BIGINT NOT NULL AUTO_INCREMENT,
  event_time DATETIME(6) NOT NULL,
  principal VARCHAR(190) NOT NULL,
  role VARCHAR(190) NOT NULL,
  method VARCHAR(255) NOT NULL,
  resource VARCHAR(255) NOT NULL,
  code VARCHAR(32) NOT NULL,
  request_id VARCHAR(128) NOT NULL,
  peer VARCHAR(255) NOT NULL,
  PRIMARY KEY (id),
  KEY audit_events_by_time (event_time, id),
  KEY audit_events_by_principal (principal, id),
  KEY audit_events_by_resource (resource, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
