"""The HTTP layer under every handler: request validation, error and header middleware, OpenAPI docs."""
