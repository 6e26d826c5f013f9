#!/usr/bin/env python3
"""Writes the seed corpus (fuzz/corpus/<target>/) from the core's test fixtures.

Every string literal of core/tests/*.rs that is a JSON document (or a redirect query), and the
examples of the specifications in spec/, become seeds in each target's input format (see
fuzz/src/lib.rs). Rerun after the fixtures change; the output is deterministic.
"""
import hashlib, json, pathlib, re

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

def literals():
    for path in sorted((ROOT / "core" / "tests").rglob("*.rs")):
        text = path.read_text()
        for m in re.finditer(r'r(#+)"(.*?)"\1', text, re.S):
            yield m.group(2)
        for m in re.finditer(r'(?<![r#\w])"((?:[^"\\\n]|\\.)*)"', text):
            try:
                yield json.loads('"' + m.group(1) + '"')
            except ValueError:
                pass

def spec_examples():
    for path in sorted((ROOT / "spec").glob("*.json")):
        def walk(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "example" and isinstance(value, dict):
                        yield json.dumps(value)
                    else:
                        yield from walk(value)
            elif isinstance(node, list):
                for value in node:
                    yield from walk(value)
        yield from walk(json.loads(path.read_text()))

def write(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)

def main():
    documents, redirects, events = set(), set(), set()
    for text in list(literals()) + list(spec_examples()):
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                json.loads(stripped)
            except ValueError:
                continue
            (events if "oauth.authorization" in stripped else documents).add(text)
        elif re.search(r"(^|[?&])(code|state|error)=", text) and len(text) < 2048:
            redirects.add(text)

    answers = [
        ("200", ["content-type: application/json", "square-version: 2025-08-20"]),
        ("401", ["content-type: application/json"]),
        ("429", ["content-type: application/json; charset=utf-8", "retry-after: 30"]),
        ("503", ["content-type: application/problem+json", "retry-after: Wed, 21 Oct 2015 07:28:00 GMT"]),
    ]
    for target in ["parse_obtain_token", "parse_revoke_token", "parse_token_status", "parse_renew_token"]:
        for i, doc in enumerate(sorted(documents)):
            status, headers = answers[i % len(answers)]
            write(target, ("\n".join([status] + headers) + "\n\n" + doc).encode())
        write(target, b"200\ncontent-type: text/html\n\n<html><body>Bad gateway</body></html>")
        write(target, b"500\n\n")

    for redirect in sorted(redirects):
        m = re.search(r"state=([^&#]*)", redirect)
        state = m.group(1) if m else "expected-state"
        write("parse_callback", f"{state}\n{redirect}".encode())
    write("parse_callback", b"expected-state\nhttps://example.com/cb?code=sq0cgb-abc&response_type=code&state=expected-state")

    for event in sorted(events):
        write("webhook_parse_revocation", event.encode())

    for flow in ["code_flow", "pkce"]:
        stored = {
            "flow": flow, "client_id": "sq0idp-app", "merchant_id": "MLQW2MYBY81PZ",
            "access_token": "EAAAexample", "expires_at": "2026-07-31T00:00:00Z",
            "refresh_token": "EQAAexample", "refresh_token_expires_at": "2026-10-01T00:00:00Z",
            "obtained_at": "2026-07-01T00:00:00Z", "short_lived": False,
            "scopes": ["PAYMENTS_READ", "MERCHANT_PROFILE_READ"],
        }
        write("token_set_load", json.dumps(stored).encode())

    # The two targets whose input `arbitrary` decodes start from a few plain byte strings (their
    # format has no fixture to copy); the fuzzer finds the structure quickly from there.
    for target in ["authorize_url", "webhook_verify"]:
        for seed in [b"", b"\x01sq0idp-example\x00PAYMENTS_READ\x00en-US\x01state-123\x01",
                     b"\x02https://example.com/webhooks/square\x00{\"merchant_id\":\"M1\"}\x00Tm9ZU2Vj"]:
            write(target, seed)

if __name__ == "__main__":
    main()
