import os

from openai import OpenAI

# routesim serve --catalog fixtures/deepseek-r1.yaml   (listening on http://127.0.0.1:8080)
base_url = os.environ.get("ROUTESIM_URL", "http://127.0.0.1:8080/api/v1")
client = OpenAI(base_url=base_url, api_key=os.environ.get("ROUTESIM_KEY", "any"))

completion = client.chat.completions.create(
    model="deepseek/deepseek-r1",
    messages=[{"role": "user", "content": "Say hello."}],
    extra_body={"provider": {"order": ["together"], "allow_fallbacks": False}},
)
print(completion.model_extra["provider"], completion.usage.model_extra["cost"])
print(completion.choices[0].message.content)
