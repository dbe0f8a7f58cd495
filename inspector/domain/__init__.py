"""The bottom layer: the one place that opens SQLite (db), who may do what
(access), and one data module per concern, each owning its SQL and scoped by
who is asking. Nothing here imports sync/ or inspector.app."""
