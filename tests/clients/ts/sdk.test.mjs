// routesim serve driven by the official OpenRouter TypeScript SDK, unchanged but for its server
// URL. The SDK validates every response against its zod schemas, so a body it rejects fails here.
// tests/clients/run starts the server and sets ROUTESIM_BASE (http://HOST:PORT) and ROUTESIM_KEY.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OpenRouter } from "@openrouter/sdk";

const base = process.env.ROUTESIM_BASE;
const apiKey = process.env.ROUTESIM_KEY;
assert.ok(base, "ROUTESIM_BASE is set by tests/clients/run");

const client = new OpenRouter({ apiKey, serverURL: `${base}/api/v1` });
const model = "deepseek/deepseek-r1";
const messages = [{ role: "user", content: "Say hello." }];

async function setFaults(rules) {
  const answer = await fetch(`${base}/routesim/faults`, {
    method: "PUT",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(rules),
  });
  assert.equal(answer.status, 200, `PUT /routesim/faults answered ${answer.status}`);
}

test("chat.send honours provider preferences and bills the serving endpoint", async () => {
  const result = await client.chat.send({
    xOpenRouterMetadata: "enabled",
    chatRequest: {
      model,
      messages,
      provider: { order: ["fireworks"], allowFallbacks: false },
    },
  });
  assert.equal(result.object, "chat.completion");
  assert.equal(result.model, model);
  assert.match(result.choices[0].message.content, /^routesim: served by fireworks /);
  assert.equal(result.choices[0].finishReason, "stop");
  assert.ok(result.usage.promptTokens > 0);
  assert.equal(
    result.usage.totalTokens,
    result.usage.promptTokens + result.usage.completionTokens,
  );
  // Fireworks lists $3 prompt and $8 completion per million tokens.
  const expected = (result.usage.promptTokens * 3 + result.usage.completionTokens * 8) / 1e6;
  assert.ok(Math.abs(result.usage.cost - expected) < 1e-15, `cost ${result.usage.cost}, expected ${expected}`);
  const meta = result.openrouterMetadata;
  assert.ok(meta, "X-OpenRouter-Metadata: enabled adds openrouter_metadata");
  assert.equal(meta.requested, model);
  assert.equal(meta.attempt, 1);
  const selected = meta.endpoints.available.filter((e) => e.selected);
  assert.equal(selected.length, 1, "exactly one available endpoint is the selected one");
  assert.equal(selected[0].provider, "Fireworks");
});

test("chat.send streams the reply chunk by chunk, then the usage", async () => {
  const stream = await client.chat.send({
    chatRequest: {
      model,
      messages,
      stream: true,
      provider: { order: ["together"], allowFallbacks: false },
    },
  });
  let text = "";
  let chunks = 0;
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    chunks += 1;
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].delta.content ?? "";
      finish = chunk.choices[0].finishReason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(chunks >= 3, `the reply, the stop and the usage come as separate chunks (got ${chunks})`);
  assert.match(text, /^routesim: served by together /);
  assert.equal(finish, "stop");
  assert.ok(usage && usage.completionTokens > 0, "the last chunk carries usage");
});

test("a failed endpoint falls through, and the generation record lists both attempts", async () => {
  await setFaults([{ endpoint: "together", status: 502, test_id: "ts-failover" }]);
  try {
    const result = await client.chat.send(
      {
        chatRequest: {
          model,
          messages,
          provider: { order: ["together", "fireworks"], allowFallbacks: false },
        },
      },
      { fetchOptions: { headers: { "x-test-id": "ts-failover" } } },
    );
    assert.match(result.choices[0].message.content, /^routesim: served by fireworks /);
    const generation = await client.generations.getGeneration({ id: result.id });
    const data = generation.data;
    assert.equal(data.id, result.id);
    assert.equal(data.providerName, "Fireworks");
    assert.deepEqual(
      data.providerResponses.map((r) => [r.providerName, r.status]),
      [
        ["Together", 502],
        ["Fireworks", 200],
      ],
    );
    assert.ok(Math.abs(data.totalCost - result.usage.cost) < 1e-15);
  } finally {
    await setFaults([]);
  }
});

test("models.list and endpoints.list answer in the SDK's shapes", async () => {
  const pages = await client.models.list();
  const ids = [];
  for await (const page of pages) {
    for (const m of page.result.data) ids.push(m.id);
  }
  assert.ok(ids.includes(model), `models.list names ${model}`);
  const listing = await client.endpoints.list({ author: "deepseek", slug: "deepseek-r1" });
  assert.equal(listing.data.id, model);
  const names = listing.data.endpoints.map((e) => e.providerName);
  assert.ok(names.includes("DeepInfra") && names.includes("Together"));
});

test("an unroutable request is a 404 the SDK raises as NotFound", async () => {
  await assert.rejects(
    client.chat.send({
      chatRequest: { model, messages, provider: { only: ["together"], quantizations: ["int4"] } },
    }),
    (error) => {
      assert.equal(error.statusCode, 404);
      assert.match(error.constructor.name, /NotFound/);
      return true;
    },
  );
});

test("a wrong API key is a 401", async () => {
  const stranger = new OpenRouter({ apiKey: "not-the-key", serverURL: `${base}/api/v1` });
  await assert.rejects(stranger.chat.send({ chatRequest: { model, messages } }), (error) => {
    assert.equal(error.statusCode, 401);
    return true;
  });
});
