"""Uses the Python client generated from openapi.yaml (openapi-python-client) against a live Carta
server, as a partner would: list, search, detail, sync through the change feed, and an
authenticated update. Run by ../check, which starts the server and makes the client."""

import os
import time

import httpx
from carta_client import AuthenticatedClient, Client
from carta_client.api.auth import token
from carta_client.api.editing import get_draft, patch_draft
from carta_client.api.services import get_service, list_services
from carta_client.models import (
    EditableService,
    PatchDraftBody,
    Problem,
    Service,
    ServiceListItem,
    ServicePage,
    ServiceStatus,
    SpellingCorrection,
    TokenRequest,
    TokenResponse,
)

from sync import replica_ids, sync_catalogue


def setting(name: str) -> str:
    value = os.environ.get(name)
    assert value, f"{name} is not set"
    return value


def all_published_services(client: Client) -> list[ServiceListItem]:
    items: list[ServiceListItem] = []
    page = 1
    while True:
        answer = list_services.sync_detailed(client=client, page=page, per_page=100)
        assert isinstance(answer.parsed, ServicePage), f"GET /v1/services page {page}: {answer.status_code}"
        items.extend(answer.parsed.items)
        if page * answer.parsed.per_page >= answer.parsed.total:
            assert len(items) == answer.parsed.total
            return items
        page += 1


def published_total(client: Client) -> int:
    answer = list_services.sync(client=client, per_page=1)
    assert isinstance(answer, ServicePage)
    return answer.total


def server_has_change_feed(client: Client) -> bool:
    """The feed is called only when the server documents it (see sync.py)."""
    document = client.get_httpx_client().get("/openapi.json").json()
    return "/v1/changes" in document["paths"]


def authenticated_update(client: Client, base_url: str, target: ServiceListItem) -> None:
    issued = token.sync(
        client=client,
        body=TokenRequest(
            grant_type="client_credentials",
            client_id=setting("CARTA_CLIENT_ID"),
            client_secret=setting("CARTA_CLIENT_SECRET"),
        ),
    )
    assert isinstance(issued, TokenResponse), f"token: {issued}"
    assert issued.token_type == "Bearer"
    editor = AuthenticatedClient(base_url=base_url, token=issued.access_token)

    draft = get_draft.sync_detailed(target.id, client=editor)
    assert isinstance(draft.parsed, EditableService), f"draft: {draft.status_code} {draft.content!r}"
    etag = draft.headers.get("ETag")
    assert etag, "the draft carries an ETag"

    popular_name = f"smoke-py-{time.time_ns()}"
    patch = PatchDraftBody.from_dict({"popular_names": [*(draft.parsed.popular_names or []), popular_name]})
    patched = patch_draft.sync_detailed(
        target.id, client=editor, body=patch, if_match=etag, reason="clients/check (Python)"
    )
    assert isinstance(patched.parsed, EditableService), f"patch: {patched.status_code} {patched.content!r}"
    assert popular_name in (patched.parsed.popular_names or [])
    assert patched.parsed.revision == draft.parsed.revision + 1
    assert patched.parsed.public_status == ServiceStatus.PUBLISHED
    new_etag = patched.headers.get("ETag")
    assert new_etag and new_etag != etag, "the saved version has a new ETag"

    # The ETag read before the change is stale now.
    stale = patch_draft.sync_detailed(target.id, client=editor, body=patch, if_match=etag)
    assert stale.status_code == 412 and isinstance(stale.parsed, Problem)

    # The public keeps the published version until the draft is published.
    public_view = get_service.sync(str(target.id), client=client)
    assert isinstance(public_view, Service)
    assert popular_name not in (public_view.popular_names or [])
    print(f"update: {target.slug} revision {patched.parsed.revision} as a draft")


def main() -> None:
    base_url = setting("CARTA_BASE_URL")
    organization = setting("CARTA_ORGANIZATION")
    client = Client(base_url=base_url, timeout=httpx.Timeout(30.0))

    services = all_published_services(client)
    assert len({s.id for s in services}) == len(services), "no service listed twice"
    target = next((s for s in services if s.organization.slug == organization), None)
    assert target is not None, f"a published service of {organization}"
    print(f"list: {len(services)} published services")

    search = list_services.sync(client=client, q=target.name)
    assert isinstance(search, ServicePage), f"search: {search}"
    assert any(s.id == target.id for s in search.items), f'searching "{target.name}" finds it'
    assert search.facets, "a search answers facets"
    print(f'search: "{target.name}" -> {search.total} matches')
    typo = list_services.sync(client=client, q="habilitasao")
    assert isinstance(typo, ServicePage), f"search: {typo}"
    assert isinstance(typo.correction, SpellingCorrection), "a misspelt search says how it was read"
    assert typo.correction.text == "habilitação", typo.correction
    print(f'search: "habilitasao" read as "{typo.correction.text}"')

    for key in (str(target.id), target.slug):
        detail = get_service.sync(key, client=client)
        assert isinstance(detail, Service), f"detail {key}: {detail}"
        assert (detail.id, detail.slug, detail.name) == (target.id, target.slug, target.name)
    missing = get_service.sync_detailed("no-such-service-here", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, Problem)
    assert missing.parsed.code == "not_found"
    print(f"detail: {target.slug} by id and by slug")

    published = published_total(client)
    if server_has_change_feed(client):
        replica, cursor = sync_catalogue(client)
        synced = replica_ids(replica, "service")
        assert synced == {str(s.id) for s in services}, "the synced copy holds the public services"
        print(f"sync: {len(replica)} resources up to cursor {cursor}")
    else:
        print("sync: skipped, the server has no /v1/changes yet")

    authenticated_update(client, base_url, target)
    assert published_total(client) == published, "a draft does not change what the public sees"


if __name__ == "__main__":
    main()
    print("python client: ok")
