// Uses the TypeScript client generated from openapi.yaml (openapi-typescript types + openapi-fetch)
// against a live Carta server, as a partner would: list, search, detail, sync through the change
// feed, and an authenticated update. Run by ../check, which starts the server and makes the client.
import assert from "node:assert/strict";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";
import { replicaIds, syncCatalogue } from "./sync.js";

type ServiceListItem = components["schemas"]["ServiceListItem"];

function setting(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is not set`);
  return value;
}

const baseUrl = setting("CARTA_BASE_URL");
const organization = setting("CARTA_ORGANIZATION");
const api = createClient<paths>({ baseUrl });

async function allPublishedServices(): Promise<ServiceListItem[]> {
  const items: ServiceListItem[] = [];
  for (let page = 1; ; page++) {
    const { data, error, response } = await api.GET("/v1/services", {
      params: { query: { page, per_page: 100 } },
    });
    assert.ok(data, `GET /v1/services page ${page}: ${response.status} ${JSON.stringify(error)}`);
    items.push(...data.items);
    if (page * data.per_page >= data.total) {
      assert.equal(items.length, data.total);
      return items;
    }
  }
}

async function main(): Promise<void> {
  const services = await allPublishedServices();
  assert.equal(new Set(services.map((s) => s.id)).size, services.length, "no service listed twice");
  const target = services.find((s) => s.organization.slug === organization);
  assert.ok(target, `a published service of ${organization}`);
  console.log(`list: ${services.length} published services`);

  const search = await api.GET("/v1/services", { params: { query: { q: target.name } } });
  assert.ok(search.data, `search: ${search.response.status} ${JSON.stringify(search.error)}`);
  assert.ok(search.data.items.some((s) => s.id === target.id), `searching "${target.name}" finds it`);
  assert.ok(search.data.facets, "a search answers facets");
  console.log(`search: "${target.name}" -> ${search.data.total} matches`);
  const typo = await api.GET("/v1/services", { params: { query: { q: "habilitasao" } } });
  assert.equal(typo.data?.correction?.text, "habilitação", "a misspelt search says how it was read");
  console.log(`search: "habilitasao" read as "${typo.data?.correction?.text}"`);

  for (const key of [target.id, target.slug]) {
    const detail = await api.GET("/v1/services/{id_or_slug}", { params: { path: { id_or_slug: key } } });
    assert.ok(detail.data, `detail ${key}: ${detail.response.status}`);
    assert.equal(detail.data.id, target.id);
    assert.equal(detail.data.slug, target.slug);
    assert.equal(detail.data.name, target.name);
  }
  const missing = await api.GET("/v1/services/{id_or_slug}", {
    params: { path: { id_or_slug: "no-such-service-here" } },
  });
  assert.equal(missing.response.status, 404);
  assert.equal(missing.error?.code, "not_found");
  console.log(`detail: ${target.slug} by id and by slug`);

  const published = (await api.GET("/v1/services", { params: { query: { per_page: 1 } } })).data?.total;
  if (await serverHasChangeFeed()) {
    const { replica, cursor } = await syncCatalogue(baseUrl);
    const synced = replicaIds(replica, "service").sort();
    assert.deepEqual(synced, services.map((s) => s.id).sort(), "the synced copy holds the public services");
    console.log(`sync: ${replica.size} resources up to cursor ${cursor}`);
  } else {
    console.log("sync: skipped, the server has no /v1/changes yet");
  }

  await authenticatedUpdate(target);
  const after = (await api.GET("/v1/services", { params: { query: { per_page: 1 } } })).data?.total;
  assert.equal(after, published, "a draft does not change what the public sees");
}

/** The feed is called only when the server documents it (see sync.ts). */
async function serverHasChangeFeed(): Promise<boolean> {
  const document = (await (await fetch(new URL("/openapi.json", baseUrl))).json()) as {
    paths: Record<string, unknown>;
  };
  return "/v1/changes" in document.paths;
}

async function authenticatedUpdate(target: ServiceListItem): Promise<void> {
  const credentials = Buffer.from(`${setting("CARTA_CLIENT_ID")}:${setting("CARTA_CLIENT_SECRET")}`);
  const token = await api.POST("/v1/auth/token", {
    headers: {
      Authorization: `Basic ${credentials.toString("base64")}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: { grant_type: "client_credentials" },
  });
  assert.ok(token.data, `token: ${token.response.status} ${JSON.stringify(token.error)}`);
  assert.equal(token.data.token_type, "Bearer");
  const editor = createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${token.data.access_token}` },
  });

  const path = { id: target.id };
  const draft = await editor.GET("/v1/services/{id}/draft", { params: { path } });
  assert.ok(draft.data, `draft: ${draft.response.status} ${JSON.stringify(draft.error)}`);
  const etag = draft.response.headers.get("ETag");
  assert.ok(etag, "the draft carries an ETag");

  const popularName = `smoke-ts-${Date.now()}`;
  const patch = { popular_names: [...(draft.data.popular_names ?? []), popularName] };
  const patched = await editor.PATCH("/v1/services/{id}/draft", {
    params: { path, header: { "If-Match": etag }, query: { reason: "clients/check (TypeScript)" } },
    headers: { "Content-Type": "application/merge-patch+json" },
    body: patch,
  });
  assert.ok(patched.data, `patch: ${patched.response.status} ${JSON.stringify(patched.error)}`);
  assert.ok(patched.data.popular_names?.includes(popularName));
  assert.equal(patched.data.revision, draft.data.revision + 1);
  assert.equal(patched.data.public_status, "published");
  const newEtag = patched.response.headers.get("ETag");
  assert.ok(newEtag && newEtag !== etag, "the saved version has a new ETag");

  // The ETag read before the change is stale now.
  const stale = await editor.PATCH("/v1/services/{id}/draft", {
    params: { path, header: { "If-Match": etag } },
    headers: { "Content-Type": "application/merge-patch+json" },
    body: patch,
  });
  assert.equal(stale.response.status, 412);

  // The public keeps the published version until the draft is published.
  const publicView = await api.GET("/v1/services/{id_or_slug}", { params: { path: { id_or_slug: target.id } } });
  assert.ok(publicView.data);
  assert.ok(!publicView.data.popular_names?.includes(popularName));
  console.log(`update: ${target.slug} revision ${patched.data.revision} as a draft`);
}

await main();
console.log("typescript client: ok");
