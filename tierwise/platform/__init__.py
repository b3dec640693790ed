"""The platform: app factory, configuration, tenancy, authentication, web UI, REST API and CLI."""
