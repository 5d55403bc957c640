"""Ingestion: land source extracts and load them into the warehouse's ``raw`` schema, losing nothing."""
