"""The official `openai` Python client talking to the promptveil gateway example.

Usage: python openai_client.py BASE_URL. Prints one JSON object with what the client saw.
"""
import json
import sys

import openai
from openai import OpenAI

client = OpenAI(base_url=sys.argv[1], api_key="not-needed-by-the-gateway", max_retries=0)
out = {"client_version": openai.__version__}

# 1. A plain completion, with the raw response for the headers.
raw = client.chat.completions.with_raw_response.create(
    model="promptveil",
    messages=[{"role": "user", "content": "Please confirm to ann.lee@example.org that Saturday at 09:00 works."}],
    max_tokens=64,
)
reply = raw.parse()
out["plain"] = {
    "content": reply.choices[0].message.content,
    "finish_reason": reply.choices[0].finish_reason,
    "usage": [reply.usage.prompt_tokens, reply.usage.completion_tokens],
    "backend": raw.headers.get("x-promptveil-backend"),
    "request_id": raw.headers.get("x-promptveil-request-id"),
}

# 2. Streamed, with the usage chunk.
pieces, usage, finish = [], None, None
stream = client.chat.completions.create(
    model="promptveil",
    messages=[{"role": "user", "content": "Call +44 20 7946 0958 and tell ann.lee@example.org the clinic opens at eight."}],
    stream=True,
    stream_options={"include_usage": True},
)
for chunk in stream:
    if chunk.usage is not None:
        usage = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens]
    for choice in chunk.choices:
        if choice.delta.content:
            pieces.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason
out["stream"] = {"pieces": pieces, "usage": usage, "finish_reason": finish}

# 3. A conversation, text parts.
reply = client.chat.completions.create(
    model="promptveil",
    messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "My e-mail is ann.lee@example.org, call me Ann."},
        {"role": "assistant", "content": "Noted: ann.lee@example.org."},
        {"role": "user", "content": [{"type": "text", "text": "Is the clinic open on Sunday? Ask ann.lee@example.org."}]},
    ],
)
out["multi"] = reply.choices[0].message.content

# 4. A hard question without personal data goes to the external tier.
raw = client.chat.completions.with_raw_response.create(
    model="promptveil",
    messages=[{"role": "user", "content": "Compare the billing rules with the records policy, explain why they differ step by step, and write a detailed plan for the billing team?"}],
)
out["hard"] = {"backend": raw.headers.get("x-promptveil-backend"), "content": raw.parse().choices[0].message.content}

# 5. A bad request is an OpenAI error.
try:
    client.chat.completions.create(model="promptveil", messages=[])
    out["bad"] = "accepted"
except openai.BadRequestError as e:
    out["bad"] = {"status": e.status_code, "type": e.body.get("type") if isinstance(e.body, dict) else None}

# 6. A tool round trip: the tool's answer carries an e-mail and a card number; the model
# behind the gateway calls the next tool with them (it sees placeholders only), and the
# client gets the call with the values back, its arguments still JSON. Whole, then streamed.
tools = [{"type": "function", "function": {
    "name": "charge_card", "description": "Charges a customer's card.",
    "parameters": {"type": "object", "properties": {
        "email": {"type": "string"}, "card": {"type": "string"}}}}}]
conversation = [
    {"role": "developer", "content": "You run billing."},
    {"role": "user", "content": "Charge the card on file for ann.lee@example.org."},
    {"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "find_card", "arguments": json.dumps({"email": "ann.lee@example.org"})}}]},
    {"role": "tool", "tool_call_id": "call_1",
     "content": json.dumps({"email": "ann.lee@example.org", "card": "4111 1111 1111 1111"})},
]
reply = client.chat.completions.create(model="promptveil", messages=conversation, tools=tools)
choice = reply.choices[0]
out["tools"] = {
    "finish_reason": choice.finish_reason,
    "calls": [{"id": c.id, "name": c.function.name, "arguments": json.loads(c.function.arguments)}
              for c in choice.message.tool_calls or []],
}
calls, finish = {}, None
for chunk in client.chat.completions.create(model="promptveil", messages=conversation, tools=tools, stream=True):
    for choice in chunk.choices:
        for d in choice.delta.tool_calls or []:
            call = calls.setdefault(d.index, {"id": None, "name": None, "arguments": ""})
            if d.id:
                call["id"] = d.id
            if d.function and d.function.name:
                call["name"] = d.function.name
            if d.function and d.function.arguments:
                call["arguments"] += d.function.arguments
        if choice.finish_reason:
            finish = choice.finish_reason
out["tools_stream"] = {
    "finish_reason": finish,
    "calls": [{"id": c["id"], "name": c["name"], "arguments": json.loads(c["arguments"])}
              for _, c in sorted(calls.items())],
}

print(json.dumps(out))
