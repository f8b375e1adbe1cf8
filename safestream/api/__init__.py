"""HTTP API: routes, request validation, error rendering and OpenAPI docs."""
