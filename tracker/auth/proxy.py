"""Identity headers from a reverse proxy that has already signed the user in.

The headers are believed only when the connection itself comes from one of
the trusted networks: the peer address of the socket, never a forwarded-for
header, which the client could write.  From anywhere else they are ignored,
so a client that reaches the server directly cannot claim an identity.
"""

import ipaddress
from collections.abc import Mapping

from tracker.auth.identity import Identity, Via, checked_tenant, checked_user
from tracker.auth.oidc import highest_role
from tracker.auth.roles import parse_role
from tracker.config import ProxySettings
from tracker.errors import InvalidParameter

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(sources: tuple[str, ...]) -> list[Network]:
    """Parse addresses and CIDR ranges, as the settings hold them."""
    networks = []
    for source in sources:
        try:
            networks.append(ipaddress.ip_network(source.strip(), strict=False))
        except ValueError:
            raise InvalidParameter(f"Not an address or network: {source!r}") from None

    return networks


class ProxyHeaders:
    """Reads the identity a trusted proxy put in the request's headers."""

    def __init__(self, settings: ProxySettings, *, default_tenant: str) -> None:
        self._settings = settings
        self._networks = trusted_networks(settings.trusted)
        self._default_tenant = default_tenant
        self._default_role = parse_role(settings.default_role)

    def trusts(self, peer: str | None) -> bool:
        if peer is None:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        # An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped

        return any(address in network for network in self._networks)

    def identify(self, peer: str | None, headers: Mapping[str, str]) -> Identity | None:
        """The proxy's identity for the request; None if it vouches for none."""
        settings = self._settings
        user = headers.get(settings.user_header)
        if user is None or not self.trusts(peer):
            return None

        tenant = self._default_tenant
        if settings.tenant_header is not None:
            tenant = checked_tenant(headers.get(settings.tenant_header), "proxy")
        role = self._default_role
        if settings.role_header is not None:
            role = highest_role(
                _split(headers.get(settings.role_header)), self._default_role
            )

        return Identity(
            tenant=tenant,
            user=checked_user(user, "proxy"),
            role=role,
            via=Via.PROXY,
        )


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",")] if value else []
