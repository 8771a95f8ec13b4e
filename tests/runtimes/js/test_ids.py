"""The worker's id codec (ids.mjs, behind `ctx.db.normalizeId`) agrees with bayou.values.ids."""

from __future__ import annotations

import json
import os
import random
import subprocess

from bayou.runtimes.js.worker import WORKER_SCRIPT
from bayou.values import ids

IDS_MODULE = WORKER_SCRIPT.with_name("ids.mjs").as_uri()

SCRIPT = f"""
import {{ decodeId, encodeId }} from {json.dumps(IDS_MODULE)};
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {{
  const {{ decode, encode }} = JSON.parse(input);
  const decoded = decode.map((s) => {{
    const d = decodeId(s);
    return d === null ? null : [d.tableNumber, Buffer.from(d.internalId).toString("hex")];
  }});
  const encoded = encode.map(([t, hex]) => encodeId(t, Buffer.from(hex, "hex")));
  process.stdout.write(JSON.stringify({{ decoded, encoded }}));
}});
"""


def run_js(node: str, decode: list[str], encode: list[tuple[int, str]]) -> dict:
    out = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT],
        input=json.dumps({"decode": decode, "encode": encode}),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def corrupt(text: str, rng: random.Random) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    i = rng.randrange(len(text))
    return text[:i] + rng.choice(alphabet.replace(text[i], "")) + text[i + 1 :]


def test_worker_and_python_codecs_agree_on_valid_and_corrupted_ids(node: str) -> None:
    rng = random.Random(1234)
    tables = [1, 2, 127, 128, 10001, 10002, 16383, 16384, 2**21, 2**28, 2**32 - 1]
    pairs = [(t, os.urandom(16).hex()) for t in tables for _ in range(5)]
    valid = [ids.encode_id(t, bytes.fromhex(h)) for t, h in pairs]
    candidates = valid + [corrupt(s, rng) for s in valid for _ in range(3)]
    candidates += ["", "x", valid[0].upper(), valid[0] + "0", "j5700000000000000000000000001qv1"]
    js = run_js(node, candidates, pairs)
    assert js["encoded"] == valid
    for text, decoded in zip(candidates, js["decoded"], strict=True):
        expected = None
        if ids.is_valid_id(text):
            table, internal = ids.decode_id(text)
            expected = [table, internal.hex()]
        assert decoded == expected, text
