"""The sandbox: a complete OAuth 2.0 provider inside the relay, for the demo and the tests."""
