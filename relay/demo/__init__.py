"""The demo relying party at /demo: uses the relay as its OpenID provider, like any client."""
