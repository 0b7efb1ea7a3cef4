import { OpenRouter } from "@openrouter/sdk";

// routesim serve --catalog fixtures/deepseek-r1.yaml   (listening on http://127.0.0.1:8080)
const client = new OpenRouter({
  serverURL: process.env.ROUTESIM_URL ?? "http://127.0.0.1:8080/api/v1",
  apiKey: process.env.ROUTESIM_KEY ?? "any",
});

const result = await client.chat.send({
  chatRequest: {
    model: "deepseek/deepseek-r1",
    messages: [{ role: "user", content: "Say hello." }],
    provider: { order: ["together"], allowFallbacks: false },
  },
});
const generation = await client.generations.getGeneration({ id: result.id });
console.log(generation.data.providerName, result.usage.cost);
console.log(result.choices[0].message.content);
