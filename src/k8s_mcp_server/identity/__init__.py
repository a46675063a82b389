"""Who the caller is beyond an API key: OAuth 2.1 access tokens, the identity map, impersonation."""
