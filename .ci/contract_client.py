"""Drives a running Kura through the Python client generated from docs/openapi.json.

.ci/api-contract type-checks this file with the generated package under `mypy --strict` (so the
client's types must fit the calls below), then runs it against a seeded Kura: every call must
answer as the document says, through the client's own parsing of the responses.
"""

import os
import sys
from typing import NoReturn

from client import AuthenticatedClient
from client.api.audit import list_audit
from client.api.collections import get_collection, list_collections
from client.api.records import create_record, get_record, list_records, update_record
from client.api.sessions import me
from client.models import Collection, Me, Problem, RecordPage, RecordValues, RecordView


def fail(message: str) -> NoReturn:
    print(f"contract client: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    kura = AuthenticatedClient(base_url=os.environ["KURA_URL"], token=os.environ["KURA_KEY"])
    who = me.sync(client=kura)
    if not isinstance(who, Me) or who.tenant != "acme":
        fail(f"GET /me: {who!r}")
    collections = list_collections.sync(client=kura)
    if not isinstance(collections, list) or [c.name for c in collections] != ["customers"]:
        fail(f"GET /collections: {collections!r}")
    customers = get_collection.sync("customers", client=kura)
    if not isinstance(customers, Collection) or len(customers.fields) != 4:
        fail(f"GET /collections/customers: {customers!r}")

    values = RecordValues()
    values.additional_properties = {"name": "契約 太郎", "kana": "ケイヤク タロウ", "points": 42, "plan": "premium"}
    created = create_record.sync("customers", client=kura, body=values)
    if not isinstance(created, RecordView) or created.version != 1:
        fail(f"POST /collections/customers/records: {created!r}")
    change = RecordValues()
    change.additional_properties = {"points": 43}
    updated = update_record.sync("customers", created.id, client=kura, body=change, if_match='"1"')
    if not isinstance(updated, RecordView) or updated.data.additional_properties.get("points") != 43:
        fail(f"PATCH the record: {updated!r}")
    stale = update_record.sync("customers", created.id, client=kura, body=change, if_match='"1"')
    if not isinstance(stale, Problem) or stale.code != "conflict":
        fail(f"PATCH with a stale version must be a conflict: {stale!r}")
    fetched = get_record.sync("customers", created.id, client=kura)
    if not isinstance(fetched, RecordView) or fetched.version != 2:
        fail(f"GET the record: {fetched!r}")
    page = list_records.sync("customers", client=kura, filter_="points > 40", sort="-points", per_page=10)
    if not isinstance(page, RecordPage) or page.total != 1:
        fail(f"GET /collections/customers/records: {page!r}")
    entries = list_audit.sync(client=kura, limit=5)
    if not isinstance(entries, list) or not entries or entries[0].operation != "record.update":
        fail(f"GET /audit: {entries!r}")
    print("contract client: 10 calls answered as documented")


if __name__ == "__main__":
    main()
