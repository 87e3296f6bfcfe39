"""One router per resource: the seed's endpoints, the /v1 resource API, SSE, health."""
