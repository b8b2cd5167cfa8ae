"""The official `anthropic` Python client talking to the promptveil gateway example.

Usage: python anthropic_client.py BASE_URL (the gateway's, without `/v1`). Prints one JSON
object with what the client saw.
"""
import json
import sys

import anthropic

client = anthropic.Anthropic(base_url=sys.argv[1], api_key="not-needed-by-the-gateway", max_retries=0)
out = {"client_version": anthropic.__version__}

# 1. A plain message, with the raw response for the headers.
raw = client.messages.with_raw_response.create(
    model="promptveil",
    max_tokens=64,
    system="Be brief.",
    messages=[{"role": "user", "content": "Please confirm to ann.lee@example.org that Saturday at 09:00 works."}],
)
reply = raw.parse()
out["plain"] = {
    "text": "".join(b.text for b in reply.content if b.type == "text"),
    "stop_reason": reply.stop_reason,
    "backend": raw.headers.get("x-promptveil-backend"),
    "request_id": raw.headers.get("x-promptveil-request-id"),
}

# 2. Streamed through the client's event parser.
with client.messages.stream(
    model="promptveil",
    max_tokens=64,
    messages=[{"role": "user", "content": "Call +44 20 7946 0958 and tell ann.lee@example.org the clinic opens at eight."}],
) as stream:
    pieces = [t for t in stream.text_stream]
    final = stream.get_final_message()
out["stream"] = {"pieces": pieces, "stop_reason": final.stop_reason}

# 3. A tool round trip: the tool's answer carries an e-mail and a card number. Whole, then
# streamed.
tools = [{"name": "charge_card", "description": "Charges a customer's card.",
          "input_schema": {"type": "object", "properties": {
              "email": {"type": "string"}, "card": {"type": "string"}}}}]
conversation = [
    {"role": "user", "content": "Charge the card on file for ann.lee@example.org."},
    {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "find_card",
         "input": {"email": "ann.lee@example.org"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1",
         "content": json.dumps({"email": "ann.lee@example.org", "card": "4111 1111 1111 1111"})}]},
]
reply = client.messages.create(model="promptveil", max_tokens=64, system="You run billing.",
                               messages=conversation, tools=tools)
out["tools"] = {
    "stop_reason": reply.stop_reason,
    "calls": [{"id": b.id, "name": b.name, "input": b.input} for b in reply.content if b.type == "tool_use"],
}
with client.messages.stream(model="promptveil", max_tokens=64, system="You run billing.",
                            messages=conversation, tools=tools) as stream:
    final = stream.get_final_message()
out["tools_stream"] = {
    "stop_reason": final.stop_reason,
    "calls": [{"id": b.id, "name": b.name, "input": b.input} for b in final.content if b.type == "tool_use"],
}

# 4. An image is refused with a clear error, not dropped.
try:
    client.messages.create(model="promptveil", max_tokens=16, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {"type": "text", "text": "What is this?"}]}])
    out["image"] = "accepted"
except anthropic.BadRequestError as e:
    out["image"] = {"status": e.status_code, "message": str(e)}

print(json.dumps(out))
