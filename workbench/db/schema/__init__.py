"""The database schema, one module per area; the migrations in them are
applied in the one order :data:`workbench.db.migrations.ORDER` gives."""
