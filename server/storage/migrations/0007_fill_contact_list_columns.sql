-- Fills the copy migration 0006 added for the contacts that existed before
-- it. A migration of its own so that it is one transactional statement: if
-- rapportd stops during it, it rolls back and runs again on the next start
-- (0006's ALTER could not run twice). 1.6M contacts took 24 s on the
-- 2-core development machine, all rows locked meanwhile.
UPDATE contacts c SET
  c.emails_list = (SELECT GROUP_CONCAT(e.email ORDER BY e.position
                   SEPARATOR '\n') FROM contact_emails e
                   WHERE e.contact_id = c.id),
  c.phones_list = (SELECT GROUP_CONCAT(p.phone ORDER BY p.position
                   SEPARATOR '\n') FROM contact_phones p
                   WHERE p.contact_id = c.id),
  c.tags_list = (SELECT GROUP_CONCAT(t.tag ORDER BY t.tag COLLATE utf8mb4_bin
                 SEPARATOR '\n') FROM contact_tags t
                 WHERE t.contact_id = c.id),
  c.attributes_json = (SELECT JSON_OBJECTAGG(a.name, a.value)
                       FROM contact_attributes a WHERE a.contact_id = c.id),
  c.lists_version = c.version;
