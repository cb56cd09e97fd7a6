"""Why native tool calling writes one call where two are needed: the raw requests and replies.

    .venv/bin/python -m benchmarks.native_two_calls [--rows 4]

For two-part questions of the train split (shipped tools), this sends the native baseline's request
exactly as `native_select` sends it through LangChain's `ChatOpenAI` (the HTTP bodies are recorded
by an httpx event hook, not rebuilt), and records, per question:

- the request body and the raw response body from llama-server (`--jinja`);
- the prompt the server renders from that request (`POST /apply-template`): what the model reads;
- the model's own next-token distribution right after its first call (`POST /completion` on the
  rendered prompt plus the reply up to its first `</tool_call>`, greedy, top 10 probabilities): if
  `<tool_call>` is unlikely there, the model, not the server or the client, ends the reply after one
  call;
- the same request with `parallel_tool_calls` off, for comparison;
- two continuations of the rendered prompt (`POST /completion`, greedy, the same token limit): with
  the template's tool-call example corrected (Qwen2.5-Coder's template writes it with doubled
  braces, `{{"name": ...}}`, which the model then copies), and with the reply started as `<tool_call>`
  (the tagged format the server parses): whether either makes the model write its calls in tags,
  and more than one.

Needs the model server (`model serve`), alone (run under the shared lock); first run, no LM cache.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import httpx

from benchmarks._common import md_table, write_results
from dspy_programs.native_baseline import native_select
from dspy_programs.selector_reply import content_calls
from offline import data
from runtime.models import chat_model, endpoint
from runtime.settings import get_settings

MARK = "</tool_call>"
# The tool-call example in the GGUF's chat template, as rendered, and as Qwen2.5's own template writes it.
DOUBLED = '{{"name": <function-name>, "arguments": <args-json-object>}}'
SINGLE = '{"name": <function-name>, "arguments": <args-json-object>}'


def recorder(log: list[dict[str, Any]]) -> httpx.Client:
    """An httpx client that keeps every request body and response body it carries."""

    def on_request(request: httpx.Request) -> None:
        log.append({"request": json.loads(request.content)})

    def on_response(response: httpx.Response) -> None:
        response.read()
        log[-1]["response"] = response.json()

    return httpx.Client(timeout=300, event_hooks={"request": [on_request], "response": [on_response]})


def rendered_prompt(server: str, body: dict[str, Any]) -> str:
    fields = {k: body[k] for k in ("messages", "tools", "parallel_tool_calls") if k in body}
    reply = httpx.post(f"{server}/apply-template", json=fields, timeout=60)
    reply.raise_for_status()
    return str(reply.json()["prompt"])


def after_first_call(server: str, prompt: str, reply_text: str) -> dict[str, Any] | None:
    """The model's top next tokens right after the first `</tool_call>` of its reply."""
    if MARK not in reply_text:
        return None
    head = reply_text[: reply_text.index(MARK) + len(MARK)]
    body = {"prompt": prompt + head, "n_predict": 1, "temperature": 0, "n_probs": 10, "cache_prompt": False}
    out = httpx.post(f"{server}/completion", json=body, timeout=120).json()
    probs = out["completion_probabilities"][0]["top_logprobs"]
    return {"prefix_written": head, "top": [(p["token"], round(math.exp(p["logprob"]), 4)) for p in probs]}


def continuation(server: str, prompt: str) -> dict[str, Any]:
    """The model's greedy continuation of a raw prompt, and the calls in it (tagged, or as JSON text)."""
    body = {"prompt": prompt, "n_predict": get_settings().lm_max_tokens, "temperature": 0, "cache_prompt": False}
    text = str(httpx.post(f"{server}/completion", json=body, timeout=300).json()["content"])
    return {"text": text, "tagged_calls": text.count(MARK),
            "calls": [c["name"] for c in content_calls(text)]}  # fmt: skip


def raw_reply_text(response: dict[str, Any]) -> str:
    """The reply as the model wrote it: the server's parsed calls put back in Qwen's tags."""
    message = response["choices"][0]["message"]
    text = message.get("content") or ""
    for call in message.get("tool_calls") or []:
        fn = call["function"]
        text += f'<tool_call>\n{{"name": "{fn["name"]}", "arguments": {fn["arguments"]}}}\n</tool_call>\n'
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="native_two_calls", description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)  # fmt: skip
    parser.add_argument("--rows", type=int, default=4, help="two-part questions of the train split")
    args = parser.parse_args(argv)
    args.server = (endpoint("selector").base_url or "").rstrip("/").removesuffix("/v1")  # llama-server's own routes
    rows = [ex for ex in data.selection_examples("train", toolsets="shipped") if len(ex.expected_calls) == 2]
    specs = data.toolset_specs("shipped")
    records = []
    for ex in rows[: args.rows]:
        record: dict[str, Any] = {"id": ex.id, "question": ex.question,
                                  "expected": [c["name"] for c in ex.expected_calls]}  # fmt: skip
        for parallel in (True, False):
            log: list[dict[str, Any]] = []
            # The baseline's own model client (evaluate's native variant), its HTTP bodies recorded.
            llm = chat_model("selector", max_tokens=get_settings().lm_max_tokens, http_client=recorder(log))
            reply = native_select(llm, ex.question, specs, parallel=parallel)
            key = "parallel" if parallel else "one_call"
            record[key] = {"request": log[-1]["request"], "response": log[-1]["response"],
                           "calls": [c.name for c in reply.calls], "source": reply.source,
                           "rejected": reply.rejected_json(), "unparsable": reply.unparsable}  # fmt: skip
        prompt = rendered_prompt(args.server, record["parallel"]["request"])
        record["rendered_prompt"] = prompt
        first_reply = raw_reply_text(record["parallel"]["response"])
        record["after_first_call"] = after_first_call(args.server, prompt, first_reply)
        record["doubled_braces_in_template"] = DOUBLED in prompt
        record["template_corrected"] = continuation(args.server, prompt.replace(DOUBLED, SINGLE))
        record["started_tagged"] = continuation(args.server, prompt + "<tool_call>\n")
        records.append(record)
        print(json.dumps({k: record[k] for k in ("id", "expected")} | {"calls": record["parallel"]["calls"],
              "source": record["parallel"]["source"], "next": record["after_first_call"]}), flush=True)  # fmt: skip

    def next_token(r: dict[str, Any]) -> str:
        after = r["after_first_call"]
        return "; ".join(f"{t!r} {p}" for t, p in after["top"][:3]) if after else "(no tagged call)"

    def probe(r: dict[str, Any], key: str) -> str:
        return f"{', '.join(r[key]['calls']) or 'none'} ({r[key]['tagged_calls']} tagged)"

    table = md_table(
        ["row", "expected", "calls (parallel on)", "read from", "finish", "calls (parallel off)",
         "next tokens after the first tagged call (p)", "template corrected", "reply started with <tool_call>"],
        [[r["id"], ", ".join(r["expected"]), ", ".join(r["parallel"]["calls"]) or "none", r["parallel"]["source"],
          r["parallel"]["response"]["choices"][0]["finish_reason"], ", ".join(r["one_call"]["calls"]) or "none",
          next_token(r), probe(r, "template_corrected"), probe(r, "started_tagged")] for r in records],
    )  # fmt: skip
    write_results("native-two-calls", {"rows": records}, table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
