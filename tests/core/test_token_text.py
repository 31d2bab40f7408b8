"""Token texts and bytes for log-probabilities, from byte-level BPE and SentencePiece-style tokenizers built by hand
(the tiny models' tokenizers are byte-level only)."""

from __future__ import annotations

from tokenizers import AddedToken, Tokenizer, decoders, models

from latentstack.token_text import TokenText


def test_byte_level_tokens_give_their_exact_bytes_even_half_a_character() -> None:
    tok = Tokenizer(models.BPE(vocab={"Ã": 0, "©": 1, "Ġhi": 2}, merges=[]))
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|end|>", special=True)])
    text = TokenText(tok)
    assert text(0) == ("\ufffd", (0xC3,)) and text(1) == ("\ufffd", (0xA9,))
    assert bytes(text(0)[1] + text(1)[1]).decode() == "é"
    assert text(2) == (" hi", tuple(b" hi"))
    assert text(3) == ("<|end|>", tuple(b"<|end|>")) and "<|end|>" in text.special


def test_sentencepiece_pieces_read_the_mark_as_a_space_and_byte_fallback_as_one_byte() -> None:
    tok = Tokenizer(models.BPE(vocab={"<unk>": 0, "▁hello": 1, "<0xC3>": 2, "<0xA9>": 3, "lo": 4}, merges=[],
                               unk_token="<unk>", byte_fallback=True))
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    text = TokenText(tok)
    assert text(1) == (" hello", tuple(b" hello"))
    assert text(2) == ("\ufffd", (0xC3,)) and text(3)[1] == (0xA9,)
    assert text(4) == ("lo", tuple(b"lo"))
    scored = text.score(1, -0.5, [(1, -0.5), (4, -2.0)])
    assert scored.token == " hello" and [a.token for a in scored.top] == [" hello", "lo"]
