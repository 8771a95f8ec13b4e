"""System tables and what they mean: one module per table (environment variables, modules,
the deployed configuration …). Each module declares its `SystemTable` and offers typed
reads and writes through a `Transaction`; `SYSTEM_TABLES` lists them for `Database.open`."""
