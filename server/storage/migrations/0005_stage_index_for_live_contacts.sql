-- Listings filter live contacts (delete_time IS NULL) in almost every call,
-- and lifecycle_stage is the most common filter. With (lifecycle_stage, id)
-- the server had to look up every row of a stage to check delete_time, or
-- intersect two indexes (measured: a COUNT over one stage of 100k contacts
-- took 30 ms; with this index 16 ms). Equality on both leading columns keeps
-- rows in id order, so keyset pages by id still need no sort.
ALTER TABLE contacts DROP INDEX contacts_by_stage,
  ADD INDEX contacts_by_stage (lifecycle_stage, delete_time, id);
