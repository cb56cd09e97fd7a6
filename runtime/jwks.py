"""Which key verifies a bearer token: the HS256 secret, or an identity provider's public key (JWKS).

With AUTH_JWKS_URL set, a token whose header names one of AUTH_JWT_ALGORITHMS (public-key
algorithms only, e.g. RS256) is checked against the provider's key set; PyJWT's `PyJWKClient`
fetches it, caches it for a while, and fetches again for a key id it has not seen (a rotated
key). Every other token is checked with AUTH_JWT_SECRET (HS256), when that is set. The claims
rules (sub, exp, aud, iss, lifetime, the `tools` claim) are the same for both: serving/auth.py.
"""

from __future__ import annotations

import functools
from typing import Any

import jwt

from runtime.settings import Settings

# Seconds the provider's key set is reused before it is fetched again, and the longest fetch.
JWKS_CACHE_S = 300
JWKS_TIMEOUT_S = 5


@functools.lru_cache(maxsize=4)
def jwks_client(url: str) -> jwt.PyJWKClient:
    """One client per JWKS URL for the process, so its key cache is shared by every request."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=JWKS_CACHE_S, timeout=JWKS_TIMEOUT_S)


def verification_key(token: str, settings: Settings) -> tuple[Any, list[str]]:
    """The key to verify `token` with and the algorithms allowed with it; a PyJWTError (a 401) if none.

    The provider's key is fetched (on a cache miss) with a blocking request of at most
    JWKS_TIMEOUT_S: call this off the event loop (serving/auth.py runs it in a thread).
    """
    header = jwt.get_unverified_header(token)
    if settings.auth_jwks_url and header.get("alg") in settings.auth_jwt_algorithms:
        return jwks_client(settings.auth_jwks_url).get_signing_key_from_jwt(token), settings.auth_jwt_algorithms
    if settings.auth_jwt_secret is not None:
        return settings.auth_jwt_secret.get_secret_value(), ["HS256"]
    raise jwt.InvalidAlgorithmError(f"algorithm {header.get('alg')!r} is not accepted ({settings.auth_jwt_algorithms})")
