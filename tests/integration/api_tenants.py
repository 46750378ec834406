"""Two advertisers for the API's tenancy tests: maison-lumiere (short number 36111), whose key
the tests call with, and copie (36222), whose objects that key must never reach."""

from tests.integration.api_server import new_key
from tests.integration.cli import Cli


def two_advertisers(cli: Cli) -> str:
    """Make both advertisers; a token of maison-lumiere with the scopes read and write."""
    cli.advertiser("maison-lumiere")
    cli("advertiser", "create", "copie", "--name", "Copie SARL", "--sender", "COPIE",
        "--stop-number", "36222")  # fmt: skip
    return new_key(cli.env["TAMBOUR_DATABASE_URL"], "--advertiser", "maison-lumiere",
                   "--scopes", "read,write")  # fmt: skip
