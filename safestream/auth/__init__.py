"""Authentication (argon2 passwords, JWTs) and role checks."""
