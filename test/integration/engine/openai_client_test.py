#!/usr/bin/env python3
"""The official `openai` Python client (from PyPI) against `gpuscale engine`: chat and
completions, streaming and not, usage, models, and a 404 for an unknown model.

Usage: openai_client_test.py GPUSCALE_BINARY VENV_DIR
The venv is created (and openai installed into it) on first use, then reused.
"""
import os
import signal
import socket
import subprocess
import sys
import time


def ensure_venv(venv):
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(py):
        ok = subprocess.run([py, "-c", "import openai"], capture_output=True).returncode == 0
        if ok:
            return py
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "openai>=1.40,<3"], check=True, timeout=300)
    return py


CLIENT = r'''
import sys, openai
base, model = sys.argv[1], sys.argv[2]
c = openai.OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=30)

models = c.models.list()
assert [m.id for m in models.data] == [model], models
assert models.data[0].owned_by == "vllm"

r = c.chat.completions.create(model=model, max_tokens=16,
    messages=[{"role": "user", "content": "Explain quantum computing"}],
    extra_body={"ignore_eos": True})
assert r.object == "chat.completion", r
assert r.id.startswith("chatcmpl-"), r.id
assert r.choices[0].message.role == "assistant"
assert r.choices[0].finish_reason == "length", r.choices[0]
assert r.usage.completion_tokens == 16, r.usage
assert r.usage.total_tokens == r.usage.prompt_tokens + 16
assert len(r.choices[0].message.content) > 0

chunks = list(c.chat.completions.create(model=model, max_tokens=12, stream=True,
    stream_options={"include_usage": True},
    messages=[{"role": "user", "content": "Hi"}], extra_body={"ignore_eos": True}))
assert chunks[0].choices[0].delta.role == "assistant", chunks[0]
content = [ch for ch in chunks if ch.choices and ch.choices[0].delta.content]
assert len(content) == 12, len(content)
assert chunks[-2].choices[0].finish_reason == "length", chunks[-2]
assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 12, chunks[-1]
assert len({ch.id for ch in chunks}) == 1

cr = c.completions.create(model=model, prompt="San Francisco is a", max_tokens=8,
    extra_body={"ignore_eos": True})
assert cr.object == "text_completion" and cr.id.startswith("cmpl-"), cr
assert cr.usage.completion_tokens == 8 and cr.choices[0].finish_reason == "length"

pieces = list(c.completions.create(model=model, prompt="San Francisco is a", max_tokens=5,
    stream=True, extra_body={"ignore_eos": True}))
assert len(pieces) == 5, pieces
assert pieces[-1].choices[0].finish_reason == "length"
assert all(p.choices[0].text for p in pieces) and len({p.id for p in pieces}) == 1

# Without max_tokens/ignore_eos the length comes from the configured distribution (fixed:7).
free = c.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
assert free.usage.completion_tokens == 7 and free.choices[0].finish_reason == "stop", free

try:
    c.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "x"}])
    raise SystemExit("expected NotFoundError")
except openai.NotFoundError as e:
    assert "does not exist" in str(e), e
try:
    c.chat.completions.create(model=model, messages=[], max_tokens=1)
    raise SystemExit("expected BadRequestError")
except openai.BadRequestError as e:
    assert "messages" in str(e), e
print("openai client: all checks passed")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    binary, venv = sys.argv[1], sys.argv[2]
    py = ensure_venv(venv)
    port = free_port()
    model = "google/gemma-3-1b-it"
    engine = subprocess.Popen(
        [binary, "engine", "--host", "127.0.0.1", "--port", str(port), "--seed", "1",
         "--profile", "gemma-3-1b-it-h100", "--output-len-dist", "fixed:7",
         "--startup-delay", "300ms"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or engine.poll() is not None:
                    raise SystemExit("engine did not start listening")
                time.sleep(0.05)
        result = subprocess.run([py, "-c", CLIENT, f"http://127.0.0.1:{port}/v1", model],
                                timeout=120)
        if result.returncode != 0:
            raise SystemExit(f"openai client checks failed ({result.returncode})")
    finally:
        engine.send_signal(signal.SIGTERM)
        try:
            code = engine.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(engine.pid, signal.SIGKILL)
            code = engine.wait()
        out = engine.stdout.read().decode(errors="replace")
        print(out[-4000:])
    if code != 0:
        raise SystemExit(f"engine exited with {code} after SIGTERM")


if __name__ == "__main__":
    main()
