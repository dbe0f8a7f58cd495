"""The bottom layer: the one place that opens SQLite (db), who may do what
(access), and one data module per concern, each owning its SQL and scoped by
who is asking. Nothing here imports sync/ or inspector.app.

sqlite-utils where it reads better (a row inserted or upserted by name,
whole tables for operators: dumps); SQL for queries that join, group or
scope rows, and on the push path (sync/oplog.py, sync/registers.py), where
it was measured faster."""
