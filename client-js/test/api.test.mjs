// Refusals as the widget reads them: the error code, the server's or a proxy's message, or none.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { Api, ApiError, refused } from "../src/api.js";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Answer every request with this status, body and content type. */
function answer(status, body, type = "application/json") {
  globalThis.fetch = async () => new Response(body, { status, headers: { "Content-Type": type } });
}

/** The error a post gets. @returns {Promise<ApiError>} */
async function postError() {
  const api = new Api("http://x", "news", "a");
  const form = { parent: null, name: "Ann", email: "", url: "", body: "Hi", notify: false };
  try {
    await api.post(form, "key");
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail("the post should have failed");
}

test("an origin refusal is recognised by its status and code", async () => {
  answer(403, JSON.stringify({ error: "origin_refused", message: "Origin 'x' is not allowed" }));
  const error = await postError();
  assert.deepEqual([error.status, error.code], [403, "origin_refused"]);
  assert.equal(refused(error), true);
  assert.equal(refused(new ApiError(403, "", {}, "forbidden")), false);
  assert.equal(refused(new ApiError(401, "", {}, "origin_refused")), false);
  assert.equal(refused(new TypeError("Failed to fetch")), false);
});

test("a proxy's JSON 429 keeps its code and message", async () => {
  answer(429, JSON.stringify({ error: "rate_limited", message: "Slow down." }));
  const error = await postError();
  assert.deepEqual([error.status, error.code, error.message], [429, "rate_limited", "Slow down."]);
});

test("an answer that is not our JSON is an error with no message", async () => {
  for (const body of ["<html>429 Too Many Requests</html>", "null", "[1]", '{"message": 5}']) {
    answer(429, body, body.startsWith("<") ? "text/html" : "application/json");
    const error = await postError();
    assert.deepEqual([error.status, error.code, error.message], [429, "", ""], body);
    assert.deepEqual(error.fields, {});
  }
});
