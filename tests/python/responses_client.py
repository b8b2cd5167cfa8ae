"""The official `openai` Python client talking to the promptveil gateway's Responses API.

Usage: python responses_client.py BASE_URL. Prints one JSON object with what the client saw.
"""
import json
import sys

import openai
from openai import OpenAI

client = OpenAI(base_url=sys.argv[1], api_key="not-needed-by-the-gateway", max_retries=0)
out = {"client_version": openai.__version__}

# 1. A plain response, with the raw response for the headers.
raw = client.responses.with_raw_response.create(
    model="promptveil",
    input="Please confirm to ann.lee@example.org that Saturday at 09:00 works.",
    max_output_tokens=64,
)
reply = raw.parse()
out["plain"] = {
    "text": reply.output_text,
    "status": reply.status,
    "usage": [reply.usage.input_tokens, reply.usage.output_tokens],
    "backend": raw.headers.get("x-promptveil-backend"),
}

# 2. Streamed through the client's stream helper, which checks the events' order and
# rebuilds the response from them.
pieces = []
with client.responses.stream(
    model="promptveil",
    input="Call +44 20 7946 0958 and tell ann.lee@example.org the clinic opens at eight.",
) as stream:
    for event in stream:
        if event.type == "response.output_text.delta":
            pieces.append(event.delta)
    final = stream.get_final_response()
out["stream"] = {"pieces": pieces, "text": final.output_text, "status": final.status}

# 3. A conversation: instructions, earlier turns, the question.
reply = client.responses.create(
    model="promptveil",
    instructions="Be brief.",
    input=[
        {"role": "user", "content": "My e-mail is ann.lee@example.org, call me Ann."},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Noted: ann.lee@example.org."}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Is the clinic open on Sunday? Ask ann.lee@example.org."}]},
    ],
)
out["multi"] = reply.output_text

# 4. A tool round trip: the tool's answer carries an e-mail and a card number; the model
# calls the next tool with them (it sees placeholders only), and the client gets the call
# with the values back. Whole, then streamed.
tools = [{"type": "function", "name": "charge_card", "description": "Charges a customer's card.",
          "parameters": {"type": "object", "properties": {
              "email": {"type": "string"}, "card": {"type": "string"}}}}]
conversation = [
    {"role": "developer", "content": "You run billing."},
    {"role": "user", "content": "Charge the card on file for ann.lee@example.org."},
    {"type": "function_call", "call_id": "call_1", "name": "find_card",
     "arguments": json.dumps({"email": "ann.lee@example.org"})},
    {"type": "function_call_output", "call_id": "call_1",
     "output": json.dumps({"email": "ann.lee@example.org", "card": "4111 1111 1111 1111"})},
]
reply = client.responses.create(model="promptveil", input=conversation, tools=tools)
out["tools"] = {
    "status": reply.status,
    "calls": [{"id": o.call_id, "name": o.name, "arguments": json.loads(o.arguments)}
              for o in reply.output if o.type == "function_call"],
}
deltas = ""
with client.responses.stream(model="promptveil", input=conversation, tools=tools) as stream:
    for event in stream:
        if event.type == "response.function_call_arguments.delta":
            deltas += event.delta
    final = stream.get_final_response()
out["tools_stream"] = {
    "status": final.status,
    "deltas": json.loads(deltas),
    "calls": [{"id": o.call_id, "name": o.name, "arguments": json.loads(o.arguments)}
              for o in final.output if o.type == "function_call"],
}

# 5. A stateful request is refused by name, in OpenAI's error shape.
try:
    client.responses.create(model="promptveil", input="Go on.", previous_response_id="resp_1")
    out["bad"] = "accepted"
except openai.BadRequestError as e:
    out["bad"] = {"status": e.status_code, "message": e.message}

print(json.dumps(out))
