"""Server-rendered pages: the landing page, the operator console and the tenant site."""
