"""A tenant admin's own tokens, over HTTP: ``<api>/2.0/calabi/tokens/...``.

The tenant is always the caller's; the role check (admin) is the
middleware's, like every other route's.  A token of another tenant is
answered as one that does not exist.
"""

from aiohttp import web

from tracker.api.fields import respond
from tracker.api.messages import Message
from tracker.auth.roles import parse_role
from tracker.auth.tokens import TokenStore, create_token, list_tokens, revoke_token
from tracker.context import current_request
from tracker.errors import InvalidParameter, NotFound, NotImplementedByServer
from tracker.http.keys import ACCESS
from tracker.http.request_parsing import parse


class CreateToken(Message):
    user: str | None = None
    role: str | None = None
    description: str = ""


class RevokeToken(Message):
    token_id: str | None = None


async def create_handler(request: web.Request) -> web.Response:
    message = await parse(request, CreateToken)
    if not message.user or not message.role:
        raise InvalidParameter("Missing value for required parameter 'user' or 'role'.")
    role = parse_role(message.role)
    tenant, actor = _caller()

    async with _store(request).connection() as connection:
        issued = await create_token(
            connection,
            tenant=tenant,
            user=message.user,
            role=role,
            created_by=actor,
            description=message.description,
        )

    return respond(issued)


async def list_handler(request: web.Request) -> web.Response:
    tenant, _ = _caller()

    async with _store(request).connection() as connection:
        tokens = await list_tokens(connection, tenant=tenant)

    return respond({"tokens": tokens} if tokens else {})


async def revoke_handler(request: web.Request) -> web.Response:
    message = await parse(request, RevokeToken)
    if not message.token_id:
        raise InvalidParameter("Missing value for required parameter 'token_id'.")
    tenant, _ = _caller()

    async with _store(request).connection() as connection:
        revoked = await revoke_token(connection, message.token_id, tenant=tenant)
    if not revoked:
        raise NotFound(f"No live token with id={message.token_id}")

    return respond()


def add_token_routes(app: web.Application, prefix: str) -> None:
    for api in ("api", "ajax-api"):
        base = f"{prefix}/{api}/2.0/calabi/tokens"
        app.router.add_post(f"{base}/create", create_handler)
        app.router.add_get(f"{base}/list", list_handler, allow_head=False)
        app.router.add_post(f"{base}/revoke", revoke_handler)


def _caller() -> tuple[str, str]:
    context = current_request.get()
    assert context is not None, "the middleware sets it for every request"
    return context.tenant, context.actor


def _store(request: web.Request) -> TokenStore:
    tokens = request.app[ACCESS].tokens
    if tokens is None:
        raise NotImplementedByServer("Tokens need a server that requires sign-in")
    return tokens
