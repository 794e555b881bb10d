"""The client face: the relay as an OpenID provider.

Discovery, JWKS, authorize, token and userinfo.
"""
