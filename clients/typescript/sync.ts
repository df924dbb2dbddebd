// Keeps a copy of the public catalogue through the change feed (GET /v1/changes), as a partner would.
//
// The feed is built in parallel with this client and is not in openapi.yaml yet: until it is,
// `FeedPaths` below is the feed as its contract describes it, and smoke.ts calls `syncCatalogue`
// only when the server's document lists `/v1/changes`. Once the feed is merged, `FeedPaths` becomes
// the generated `paths` by itself, so this code is then checked by tsc against the generated types.
import assert from "node:assert/strict";
import createClient from "openapi-fetch";
import type { paths } from "./generated/schema.js";

interface ContractChange {
  cursor: string;
  resource: "service" | "organization" | "location" | "topic" | "life_event";
  id: string;
  slug: string | null;
  event: string;
  operation: "upsert" | "delete";
  href: string;
  occurred_at: string;
}

interface ContractChangePage {
  changes: ContractChange[];
  next_cursor: string;
  has_more: boolean;
}

interface ContractFeedPaths {
  "/v1/changes": {
    parameters: { query?: never; header?: never; path?: never; cookie?: never };
    get: {
      parameters: {
        query?: { after?: string; limit?: number };
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: { [name: string]: unknown };
          content: { "application/json": ContractChangePage };
        };
      };
    };
  };
}

type FeedPaths = "/v1/changes" extends keyof paths ? paths : ContractFeedPaths;

/** What a synced copy holds: the stored body of each resource, keyed by `resource:id`. */
export type Replica = Map<string, unknown>;

const PAGE_SIZE = 100;

/**
 * Starts with no cursor, applies every entry (upsert: GET its href and store the body; delete: drop
 * it) and follows `next_cursor` until `has_more` is false. Returns the copy and the last cursor.
 */
export async function syncCatalogue(baseUrl: string): Promise<{ replica: Replica; cursor: string | undefined }> {
  const feed = createClient<FeedPaths>({ baseUrl });
  const replica: Replica = new Map();
  let after: string | undefined;
  for (;;) {
    const query = after === undefined ? { limit: PAGE_SIZE } : { after, limit: PAGE_SIZE };
    const { data, error, response } = await feed.GET("/v1/changes", { params: { query } });
    assert.ok(data, `GET /v1/changes after ${after}: ${response.status} ${JSON.stringify(error)}`);
    for (const change of data.changes) {
      const key = `${change.resource}:${change.id}`;
      if (change.operation === "delete") {
        replica.delete(key);
        continue;
      }
      const resource = await fetch(new URL(change.href, baseUrl));
      // A later entry of the feed says why it is gone (archived or deleted since): it is dropped then.
      if (resource.status === 404 || resource.status === 410) {
        replica.delete(key);
        continue;
      }
      assert.equal(resource.status, 200, `GET ${change.href} (${change.event})`);
      const body = (await resource.json()) as { id?: unknown };
      assert.equal(body.id, change.id, `GET ${change.href} answers the entry's resource`);
      replica.set(key, body);
    }
    const last = data.changes.at(-1);
    assert.equal(data.next_cursor, last === undefined ? after ?? data.next_cursor : last.cursor);
    after = data.next_cursor;
    if (!data.has_more) {
      break;
    }
    assert.ok(last, "a page that has more is not empty");
  }
  if (after !== undefined) {
    // Caught up: nothing past the last cursor, and the cursor stays put.
    const { data } = await feed.GET("/v1/changes", { params: { query: { after, limit: PAGE_SIZE } } });
    assert.ok(data);
    assert.equal(data.changes.length, 0);
    assert.equal(data.has_more, false);
    assert.equal(data.next_cursor, after);
  }
  return { replica, cursor: after };
}

/** The ids of one kind of resource in the copy. */
export function replicaIds(replica: Replica, resource: ContractChange["resource"]): string[] {
  const prefix = `${resource}:`;
  return [...replica.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
}
