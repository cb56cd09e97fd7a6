"""Tokens: `agent-token` mints what the server accepts; an identity provider's RS256 tokens verify
against its JWKS (a locally generated RSA key served on loopback); what must stay refused is."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from langgraph_sdk import Auth
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from runtime.jwks import jwks_client
from runtime.settings import Settings
from serving import auth, tokens
from testkit.server import serve_app

SECRET = "unit-secret-" + "s" * 32


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


PROVIDER = rsa_key()
OTHER = rsa_key()


def idp_token(key: rsa.RSAPrivateKey = PROVIDER, kid: str = "k1", ttl: int = 600, **claims: Any) -> str:
    body = {"sub": "carol", "exp": int(time.time()) + ttl, "iat": int(time.time()), **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def key_confusion_token() -> str:
    """HS256 "signed" with the provider's public key as the secret (PyJWT refuses to make one, so by hand)."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = PROVIDER.public_key().public_bytes(serialization.Encoding.PEM, spki)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": "carol", "exp": int(time.time()) + 60}).encode())
    return f"{head}.{body}.{b64(hmac.new(pem, f'{head}.{body}'.encode(), hashlib.sha256).digest())}"


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    async def keys(request: Any) -> JSONResponse:
        return JSONResponse({"keys": [jwk(PROVIDER, "k1")]})

    with serve_app(Starlette(routes=[Route("/.well-known/jwks.json", keys)])) as port:
        yield f"http://127.0.0.1:{port}/.well-known/jwks.json"


@pytest.fixture
def with_jwks(jwks_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AUTH_JWKS_URL", jwks_url)
    monkeypatch.delenv("AUTH_JWT_SECRET", raising=False)
    jwks_client.cache_clear()
    return jwks_url


# --- agent-token ------------------------------------------------------------------------


def test_agent_token_refuses_without_the_secret(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("AUTH_JWT_SECRET", raising=False)
    monkeypatch.chdir("/")  # no .env
    assert tokens.main(["--user", "alice"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "AUTH_JWT_SECRET is not set" in err


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--tools", "calculator,teleport"], "unknown tool(s) teleport; the tools are: calculator"),
     (["--ttl", "999999"], "--ttl must be between 1 and AUTH_JWT_MAX_TTL_S"),
     (["--tools", " , "], "unknown tool(s) (none given)")],
)  # fmt: skip
def test_agent_token_refuses_bad_arguments(args: list[str], says: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: Any) -> None:  # fmt: skip
    monkeypatch.setenv("AUTH_JWT_SECRET", SECRET)
    assert tokens.main(["--user", "alice", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and says in err


def test_agent_token_refuses_a_short_secret_in_one_line(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("AUTH_JWT_SECRET", "short")
    assert tokens.main(["--user", "alice"]) == 2
    err = capsys.readouterr().err
    assert err == "agent-token: AUTH_JWT_SECRET must be at least 32 bytes (e.g. `openssl rand -hex 32`)\n"


def test_a_minted_token_is_the_user_with_the_chosen_tools(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("AUTH_JWT_SECRET", SECRET)
    monkeypatch.setenv("AUTH_JWT_ISSUER", "unit-issuer")
    monkeypatch.setenv("AUTH_JWT_AUDIENCE", "unit-aud")
    assert tokens.main(["--user", "alice", "--tools", "calculator,convert_units", "--ttl", "120"]) == 0
    token = capsys.readouterr().out.strip()
    user = auth.verify_token(token)
    assert (user["identity"], user["tools"]) == ("alice", ["calculator", "convert_units"])
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="unit-aud")
    assert claims["iss"] == "unit-issuer" and claims["exp"] - claims["iat"] == 120
    assert tokens.main(["--user", "bob", "--no-tools"]) == 0
    assert auth.verify_token(capsys.readouterr().out.strip())["tools"] == []
    assert tokens.main(["--user", "dave"]) == 0
    assert "tools" not in auth.verify_token(capsys.readouterr().out.strip())  # every tool


# --- JWKS / RS256 ------------------------------------------------------------------------


def test_a_providers_rs256_token_verifies_against_its_jwks(with_jwks: str) -> None:
    user = auth.verify_token(idp_token(tools=["calculator"]))
    assert (user["identity"], user["auth_method"], user["tools"]) == ("carol", "jwt", ["calculator"])


def test_oauth_scopes_of_a_provider_token_do_not_confine_it_to_the_demo_api(with_jwks: str) -> None:
    user = asyncio.run(auth.authenticate(f"Bearer {idp_token(scope='openid profile')}", "/threads"))
    assert user["identity"] == "carol" and "scope" not in user


@pytest.mark.parametrize(
    "make",
    [lambda: idp_token(OTHER),  # signed by a key the provider does not publish
     lambda: idp_token(OTHER, kid="k2"),  # a key id the provider does not have
     lambda: idp_token(ttl=-120),  # expired
     lambda: idp_token(ttl=10 * 86_400),  # lives longer than AUTH_JWT_MAX_TTL_S
     lambda: jwt.encode({"sub": "carol", "exp": int(time.time()) + 60}, "", algorithm="none"),
     lambda: key_confusion_token()],
    ids=["other-key", "unknown-kid", "expired", "too-long", "alg-none", "hs256-with-public-key"],
)  # fmt: skip
def test_what_the_provider_did_not_sign_is_refused(with_jwks: str, make: Any) -> None:
    with pytest.raises(Auth.exceptions.HTTPException) as refused:
        auth.verify_token(make())
    assert refused.value.status_code == 401


def test_with_both_the_secret_and_a_jwks_each_token_verifies_with_its_own_key(
    with_jwks: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_JWT_SECRET", SECRET)
    hs = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert auth.verify_token(hs)["identity"] == "alice"
    assert auth.verify_token(idp_token())["identity"] == "carol"


def test_an_unreachable_jwks_is_a_401_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_JWKS_URL", "http://127.0.0.1:9/jwks.json")  # discard port: refused
    jwks_client.cache_clear()
    with pytest.raises(Auth.exceptions.HTTPException) as refused:
        auth.verify_token(idp_token())
    assert refused.value.status_code == 401


@pytest.mark.parametrize("algorithms", ['["HS256"]', '["none"]', '["RS256", "HS512"]', "[]"])
def test_only_public_key_algorithms_may_be_configured(algorithms: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_JWT_ALGORITHMS", algorithms)
    with pytest.raises(ValidationError, match="public-key algorithms"):
        Settings()
