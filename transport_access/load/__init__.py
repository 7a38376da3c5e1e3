"""Readers for each dataset. Each returns a documented table and reports what it excluded."""
