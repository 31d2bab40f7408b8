"""vLLM's tokenizer routes: ``POST /tokenize``, ``POST /detokenize``, ``GET /tokenizer_info``, for the served chat
model; evaluation harnesses (lm-evaluation-harness's remote tokenizer) tokenize through them, so the client needs
no copy of the model's tokenizer. They run in turn with generation (one tokenizer, one thread at a time)."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at definition.

from collections.abc import Callable
from typing import Any

from latentstack.http import fields as f
from latentstack.http.errors import bad_request
from latentstack.http.raw import token_ids
from latentstack.http.state import Served
from latentstack.http.streaming import in_turn


def add_token_routes(app: Any, served: Served) -> None:
    """Attach the tokenizer routes to ``app``."""
    from fastapi import Request

    async def using(work: Callable[[Any], Any]) -> Any:
        """``work(generator)``, in turn with generation."""
        gen = served.generator_instance()
        return await in_turn(lambda: work(gen), served.gen_lock)

    @app.post("/tokenize", summary="vLLM: a text's token ids under the served chat model's tokenizer")
    async def tokenize(request: Request) -> Any:
        body = await f.read_json(request)
        f.only(body, "/tokenize", ("model", "prompt", "add_special_tokens"))
        served.adapter_for(f.field(body, "model", str, ""))  # an unknown model is a 404, as on the other routes
        text = f.field(body, "prompt", str)
        text = f.texts(body, "prompt")[0] if text else ""  # checked as any text; an empty one is no tokens
        special = f.field(body, "add_special_tokens", bool, True)
        ids, window = await using(lambda gen: (gen.raw_tokens(text, special), gen.context_window))
        return {"count": len(ids), "max_model_len": window, "tokens": ids, "token_strs": None}

    @app.post("/detokenize", summary="vLLM: the text of token ids under the served chat model's tokenizer")
    async def detokenize(request: Request) -> Any:
        body = await f.read_json(request)
        f.only(body, "/detokenize", ("model", "tokens"))
        served.adapter_for(f.field(body, "model", str, ""))
        ids = f.field(body, "tokens", list)
        if not token_ids(ids):
            raise bad_request("'tokens' must be a non-empty list of token ids (integers)", "tokens")
        return {"prompt": await using(lambda gen: gen.raw_text(ids))}

    @app.get("/tokenizer_info", summary="vLLM: the served chat model's special tokens, chat template and context length")
    async def tokenizer_info() -> Any:
        info, window = await using(lambda gen: (gen.tokenizer_info(), gen.context_window))
        return {**info, "model_max_length": window}
