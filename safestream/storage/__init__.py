"""Storage: database engine, SQLModel tables, stores and the write-behind queue."""
