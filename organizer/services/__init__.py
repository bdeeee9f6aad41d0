"""Business rules as plain functions: no request, no session; they raise domain errors."""
