"""Keeps a copy of the public catalogue through the change feed (GET /v1/changes), as a partner would.

The feed is built in parallel with this client and is not in openapi.yaml yet, so the generated
client has no module for it: this reads it through the generated client's HTTP session, shaped as
the feed's contract describes it, and smoke.py calls `sync_catalogue` only when the server's
document lists `/v1/changes`. Once the feed is merged, the generated operation can replace
`_changes_page`.
"""

from typing import Any, Literal, TypedDict

from carta_client import Client

PAGE_SIZE = 100

Resource = Literal["service", "organization", "location", "topic", "life_event"]


class Change(TypedDict):
    cursor: str
    resource: Resource
    id: str
    slug: str | None
    event: str
    operation: Literal["upsert", "delete"]
    href: str
    occurred_at: str


class ChangePage(TypedDict):
    changes: list[Change]
    next_cursor: str
    has_more: bool


def _changes_page(client: Client, after: str | None) -> ChangePage:
    params: dict[str, str | int] = {"limit": PAGE_SIZE}
    if after is not None:
        params["after"] = after
    response = client.get_httpx_client().get("/v1/changes", params=params)
    assert response.status_code == 200, f"GET /v1/changes after {after}: {response.status_code} {response.text}"
    page: ChangePage = response.json()
    return page


def sync_catalogue(client: Client) -> tuple[dict[tuple[str, str], Any], str | None]:
    """Starts with no cursor, applies every entry (upsert: GET its href and store the body; delete:
    drop it) and follows `next_cursor` until `has_more` is false. Returns the copy, keyed by
    (resource, id), and the last cursor."""
    http = client.get_httpx_client()
    replica: dict[tuple[str, str], Any] = {}
    after: str | None = None
    while True:
        page = _changes_page(client, after)
        for change in page["changes"]:
            key = (change["resource"], change["id"])
            if change["operation"] == "delete":
                replica.pop(key, None)
                continue
            resource = http.get(change["href"], follow_redirects=True)
            # A later entry of the feed says why it is gone (archived or deleted since): it is dropped then.
            if resource.status_code in (404, 410):
                replica.pop(key, None)
                continue
            assert resource.status_code == 200, f"GET {change['href']} ({change['event']}): {resource.status_code}"
            body = resource.json()
            assert body["id"] == change["id"], f"GET {change['href']} answers the entry's resource"
            replica[key] = body
        last = page["changes"][-1]["cursor"] if page["changes"] else (after or page["next_cursor"])
        assert page["next_cursor"] == last, "next_cursor is the last entry's cursor"
        after = page["next_cursor"]
        if not page["has_more"]:
            break
        assert page["changes"], "a page that has more is not empty"
    if after is not None:
        # Caught up: nothing past the last cursor, and the cursor stays put.
        tail = _changes_page(client, after)
        assert tail["changes"] == [] and not tail["has_more"] and tail["next_cursor"] == after
    return replica, after


def replica_ids(replica: dict[tuple[str, str], Any], resource: Resource) -> set[str]:
    return {id_ for kind, id_ in replica if kind == resource}
