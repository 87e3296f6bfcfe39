"""Application-wide configuration of the REST API."""
