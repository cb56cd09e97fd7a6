"""`agent-token --user alice [--tools calculator,convert_units] [--ttl 3600]`: mint a development token.

Signs an HS256 JWT with AUTH_JWT_SECRET (the server's secret, from the environment or `.env`), with
the AUTH_JWT_AUDIENCE / AUTH_JWT_ISSUER the server checks, and prints it. `--tools` becomes the
token's `tools` claim (the tools this user may call); without it the user may call every tool.
Use it with `ask --token ...` or AGENT_TOKEN, or any client as `Authorization: Bearer <token>`.
In production an identity provider issues the tokens (AUTH_JWKS_URL); this command is for
development and tests.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from runtime.authmode import mint
from runtime.settings import get_settings
from tools import TOOLS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="agent-token", description="Mint a development token: an HS256 JWT signed with AUTH_JWT_SECRET."
    )
    parser.add_argument("--user", required=True, help="the token's subject (`sub`): whose threads these are")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--tools", help="comma-separated tools this user may call (default: every tool)")
    who.add_argument("--no-tools", action="store_true", help="this user may call no tool")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid (default 3600)")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"agent-token: {exc.errors()[0]['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    if settings.auth_jwt_secret is None:
        print("agent-token: AUTH_JWT_SECRET is not set; set it to the server's secret (32+ bytes, e.g. `export "
              "AUTH_JWT_SECRET=$(openssl rand -hex 32)`, the same value for the server)", file=sys.stderr)  # fmt: skip
        return 2
    if not 0 < args.ttl <= settings.auth_jwt_max_ttl_s:
        print(f"agent-token: --ttl must be between 1 and AUTH_JWT_MAX_TTL_S ({settings.auth_jwt_max_ttl_s}) seconds; "
              "the server refuses longer-lived tokens", file=sys.stderr)  # fmt: skip
        return 2
    claims: dict[str, list[str]] = {}
    if args.no_tools:
        claims["tools"] = []
    elif args.tools is not None:
        names = [t.strip() for t in args.tools.split(",") if t.strip()]
        known = [t.name for t in TOOLS]
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            print(f"agent-token: unknown tool(s) {', '.join(unknown) or '(none given)'}; the tools are: "
                  f"{', '.join(known)}", file=sys.stderr)  # fmt: skip
            return 2
        claims["tools"] = names
    print(mint(args.user, args.ttl, settings, **claims))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
