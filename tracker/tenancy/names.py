"""Tenant names, and the database and bucket names derived from them.

A tenant name ends up in a database name and an S3 bucket name, so it is
held to the intersection of both rules, and to nothing that could be read
as SQL or a path: lower-case letters, digits and single inner hyphens.
"""

import re

from tracker.errors import InvalidParameter

_TENANT_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,39}$")
DATABASE_PREFIX = "calabi_mlflow_"
CATALOG_DATABASE = "calabi_catalog"


def check_tenant_name(name: str) -> str:
    if not _TENANT_NAME.match(name):
        msg = (
            f"Invalid tenant name {name!r}: use 2 to 40 lower-case letters, digits "
            "and single hyphens, starting with a letter."
        )
        raise InvalidParameter(msg)
    return name


def tenant_database(name: str) -> str:
    """The tenant's database; hyphens become underscores, which names never hold."""
    return DATABASE_PREFIX + check_tenant_name(name).replace("-", "_")


def tenant_bucket(name: str) -> str:
    return f"{check_tenant_name(name)}-mlflow-artifacts"
