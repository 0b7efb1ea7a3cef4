"""routesim serve driven by the official `openai` Python package with its base URL changed.

tests/clients/run starts the server and sets ROUTESIM_BASE (http://HOST:PORT), ROUTESIM_KEY,
ROUTESIM_BIN (the routesim binary) and ROUTESIM_CATALOGS (the --catalog paths, ':'-separated).
The client validates what it receives with its own pydantic models.
"""

import json
import math
import os
import subprocess
import tempfile
import unittest
import urllib.request

import openai

BASE = os.environ["ROUTESIM_BASE"]
KEY = os.environ["ROUTESIM_KEY"]
BIN = os.environ["ROUTESIM_BIN"]
CATALOGS = os.environ["ROUTESIM_CATALOGS"].split(":")
MODEL = "deepseek/deepseek-r1"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def client(key=KEY):
    # max_retries=0: a 429 or 503 from the fault rules must reach the test, not be retried.
    return openai.OpenAI(base_url=BASE + "/api/v1", api_key=key, max_retries=0)


def set_faults(rules):
    request = urllib.request.Request(
        BASE + "/routesim/faults",
        data=json.dumps(rules).encode(),
        method="PUT",
        headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200, answer.status


def route(body, seed):
    """The plan `routesim route --seed SEED --json` prints for BODY."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(body, f)
    args = [BIN, "route", "--request", f.name, "--seed", str(seed), "--json"]
    for catalog in CATALOGS:
        args += ["--catalog", catalog]
    try:
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    return json.loads(out)


class Completions(unittest.TestCase):
    def tearDown(self):
        set_faults([])

    def test_plain_completion_is_served_by_the_ordered_provider_and_billed(self):
        completion = client().chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            extra_body={"provider": {"order": ["together"], "allow_fallbacks": False}},
        )
        self.assertEqual(completion.object, "chat.completion")
        self.assertEqual(completion.model, MODEL)
        self.assertEqual(completion.model_extra["provider"], "Together")
        self.assertTrue(completion.choices[0].message.content.startswith("routesim: served by together "))
        self.assertEqual(completion.choices[0].finish_reason, "stop")
        usage = completion.usage
        # "Say hello." is 10 characters: ceil(10 / 4) = 3 prompt tokens.
        self.assertEqual(usage.prompt_tokens, 3)
        self.assertEqual(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens)
        # Together lists $3 prompt and $7 completion per million tokens.
        expected = (usage.prompt_tokens * 3 + usage.completion_tokens * 7) / 1e6
        self.assertTrue(math.isclose(usage.model_extra["cost"], expected, rel_tol=1e-12))

    def test_the_seed_header_reproduces_the_plan_with_route(self):
        body = {"model": MODEL, "messages": MESSAGES, "provider": {"sort": "price"}}
        raw = client().chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, extra_body={"provider": {"sort": "price"}}
        )
        seed = int(raw.headers["x-routesim-seed"])
        served = raw.headers["x-routesim-endpoint"]
        plan = route(body, seed)
        self.assertEqual(plan["attempts"][0]["endpoint"], served)
        self.assertEqual(raw.headers["x-routesim-attempts"], served)
        self.assertEqual(raw.parse().choices[0].message.content.split()[3], served)

    def test_streamed_completion_arrives_in_chunks_then_usage(self):
        stream = client().chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            extra_body={"provider": {"order": ["fireworks"], "allow_fallbacks": False}},
        )
        text, chunks, finish, usage = "", 0, None, None
        for chunk in stream:
            chunks += 1
            self.assertEqual(chunk.object, "chat.completion.chunk")
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage is not None:
                usage = chunk.usage
        self.assertGreaterEqual(chunks, 3)
        self.assertTrue(text.startswith("routesim: served by fireworks "), text)
        self.assertEqual(finish, "stop")
        self.assertIsNotNone(usage)
        self.assertGreater(usage.completion_tokens, 0)

    def test_a_failed_attempt_falls_through_to_the_next(self):
        set_faults([{"endpoint": "together", "status": 502, "times": 1, "test_id": "py-failover"}])
        raw = client().chat.completions.with_raw_response.create(
            model=MODEL,
            messages=MESSAGES,
            extra_body={"provider": {"order": ["together", "fireworks"], "allow_fallbacks": False}},
            extra_headers={"x-test-id": "py-failover"},
        )
        self.assertEqual(raw.headers["x-routesim-attempts"], "together,fireworks")
        self.assertEqual(raw.parse().model_extra["provider"], "Fireworks")


class Errors(unittest.TestCase):
    def tearDown(self):
        set_faults([])

    def test_an_unknown_model_is_bad_request(self):
        with self.assertRaises(openai.BadRequestError) as caught:
            client().chat.completions.create(model="nobody/no-such-model", messages=MESSAGES)
        self.assertEqual(caught.exception.status_code, 400)

    def test_an_invalid_field_is_bad_request_naming_it(self):
        with self.assertRaises(openai.BadRequestError) as caught:
            client().chat.completions.create(
                model=MODEL, messages=MESSAGES, extra_body={"provider": {"sort": "cheapest"}}
            )
        self.assertIn("sort", caught.exception.body["message"])

    def test_nothing_eligible_is_not_found_with_the_availability(self):
        with self.assertRaises(openai.NotFoundError) as caught:
            client().chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                extra_body={"provider": {"only": ["together"], "quantizations": ["int4"]}},
            )
        availability = caught.exception.body["metadata"]["availability"]
        self.assertEqual(availability["code"], "constraint_filtered")

    def test_every_attempt_rate_limited_is_429(self):
        set_faults([{"endpoint": "*", "status": 429, "test_id": "py-429"}])
        with self.assertRaises(openai.RateLimitError) as caught:
            client().chat.completions.create(
                model=MODEL, messages=MESSAGES, extra_headers={"x-test-id": "py-429"}
            )
        self.assertEqual(caught.exception.body["metadata"]["code"], "capacity_exhausted")

    def test_every_attempt_failing_otherwise_is_503(self):
        set_faults([{"endpoint": "*", "status": 502, "test_id": "py-503"}])
        with self.assertRaises(openai.InternalServerError) as caught:
            client().chat.completions.create(
                model=MODEL, messages=MESSAGES, extra_headers={"x-test-id": "py-503"}
            )
        self.assertEqual(caught.exception.status_code, 503)
        self.assertEqual(caught.exception.body["metadata"]["code"], "temporarily_unavailable")

    def test_a_wrong_key_is_unauthorized(self):
        with self.assertRaises(openai.AuthenticationError):
            client("not-the-key").chat.completions.create(model=MODEL, messages=MESSAGES)


if __name__ == "__main__":
    unittest.main(verbosity=2)
