"""Storage: the schema's migrations and the store interface with its PostgreSQL and Supabase backends."""
