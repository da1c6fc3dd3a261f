-- PostgreSQL's version of 018_evaluator_role.sql: what SQLite needs two table rebuilds for is a
-- changed CHECK here (PostgreSQL names a column's CHECK <table>_<column>_check).
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check
  CHECK (role IN ('officer', 'supervisor', 'admin', 'mentor', 'evaluator'));
ALTER TABLE role_requests DROP CONSTRAINT role_requests_to_role_check;
ALTER TABLE role_requests ADD CONSTRAINT role_requests_to_role_check
  CHECK (to_role IN ('officer', 'supervisor', 'admin', 'mentor', 'evaluator'))
