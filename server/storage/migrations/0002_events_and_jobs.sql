-- The transactional event outbox and its per-subscription deliveries, and
-- the leases of periodic jobs. See server/events/dispatcher.h.

-- One row per committed change. payload: serialized rapport.v1.Event
-- (its id is this row's id).
CREATE TABLE outbox_events (
  id BIGINT NOT NULL AUTO_INCREMENT,
  type TINYINT NOT NULL,
  contact_id BIGINT NOT NULL,
  payload MEDIUMBLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY outbox_events_by_contact (contact_id, id),
  KEY outbox_events_by_time (create_time)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Every subscription any replica has registered. `types` is a bit mask of
-- rapport.v1.EventType numbers. The lease elects the one replica that
-- delivers to the subscription at a time.
CREATE TABLE outbox_subscriptions (
  subscriber VARCHAR(190) NOT NULL,
  types BIGINT NOT NULL,
  lease_owner VARCHAR(190) NULL,
  lease_until DATETIME(6) NULL,
  register_time DATETIME(6) NOT NULL,
  last_seen_time DATETIME(6) NOT NULL,
  PRIMARY KEY (subscriber)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- What each subscription still has to handle. state: 0 pending, 2 parked.
-- Delivered rows are deleted. last_error holds a handler's message, which may
-- be any text: utf8mb4, unlike the ASCII identifiers around it.
-- outbox_deliveries_by_contact ends in next_attempt_time so that the
-- dispatcher's "no earlier pending delivery of this contact is waiting"
-- check reads the index alone.
CREATE TABLE outbox_deliveries (
  subscriber VARCHAR(190) NOT NULL,
  event_id BIGINT NOT NULL,
  contact_id BIGINT NOT NULL,
  state TINYINT NOT NULL DEFAULT 0,
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_time DATETIME(6) NOT NULL,
  last_error VARCHAR(2000) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  park_time DATETIME(6) NULL,
  PRIMARY KEY (subscriber, event_id),
  KEY outbox_deliveries_by_contact (subscriber, contact_id, state, event_id,
    next_attempt_time),
  KEY outbox_deliveries_by_state (subscriber, state, event_id),
  KEY outbox_deliveries_by_event (event_id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Periodic jobs: one row per job name; the conditional UPDATE on it elects
-- the replica that runs each period. last_start_time is the start of the
-- period the last run belongs to, by the database's clock (see
-- server/events/scheduler.cc).
CREATE TABLE scheduled_jobs (
  job VARCHAR(190) NOT NULL,
  lease_owner VARCHAR(190) NULL,
  lease_until DATETIME(6) NULL,
  last_start_time DATETIME(6) NULL,
  last_end_time DATETIME(6) NULL,
  last_error VARCHAR(2000) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  run_count BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (job)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
