"""How BM25 reads words: Unicode-folded text, words that keep their combining marks.

bm25s finds words with ``\\b\\w\\w+\\b`` on lower-cased text. Two texts a reader sees as
the same then share no word: "café" typed on one keyboard is one character where a
macOS file name or a PDF's extracted text holds "cafe" and a combining accent, and a
ligature ("ﬁle") or a full-width letter is not the letter it shows. And ``\\w`` does not
match combining marks, so a word in Hindi, Thai or Hebrew with vowel signs is cut at
every sign into fragments. Texts and queries are therefore folded as ICU's ``nfkc_cf``
folds them (compatibility composition, then case folding, as Lucene's ICU normalizer
does), and a word is a run of two or more word characters and combining marks. Chinese
and Japanese are written without spaces, so a run of ideographs and kana is one "word" to
``\\w``; it is read as its overlapping pairs of characters instead, as Lucene's CJK
analyzer reads it ("東京都" as "東京", "京都"). Turkish "İ" case-folds to "i" and a combining
dot above, which is dropped (as Lucene's Turkish lower-casing does), so "İstanbul" is
"istanbul". Arabic and Hebrew are mostly written without their vowel points, so a pointed
word would not match its usual spelling: the points are dropped (with Arabic's tatweel, and
its alef, teh marbuta and alef maksura written one way, as Lucene's ArabicNormalizer does).
The vowel signs of Indic scripts are letters of the word, and stay.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

#: Optional points of Arabic and Hebrew (Arabic's tashkeel and tatweel, as Lucene's ArabicNormalizer drops them;
#: Hebrew's niqqud and cantillation), dropped; and Arabic letters written two ways, as that normalizer writes them.
_POINTS = str.maketrans(dict.fromkeys([0x0640, *range(0x064B, 0x0653), *range(0x0591, 0x05BE), 0x05BF, 0x05C1, 0x05C2,
                                       0x05C4, 0x05C5, 0x05C7])
                        | {0x0622: 0x0627, 0x0623: 0x0627, 0x0625: 0x0627, 0x0629: 0x0647, 0x0649: 0x064A})
#: Runs of Han ideographs (with the iteration mark) and kana, the scripts written without spaces between words.
_CJK_RUN = re.compile("[\u3005\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]{2,}")


def fold(text: str) -> str:
    """``text`` in NFKC with case folded (ICU's nfkc_cf), runs of ideographs and kana as their character pairs;
    ASCII is only lower-cased."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    folded = folded.replace("i\u0307", "i").translate(_POINTS)  # Turkish İ folds to "i" + a dot above
    return _CJK_RUN.sub(_pairs, folded)


def _pairs(run: re.Match[str]) -> str:
    chars = run.group()
    return " " + " ".join(chars[i : i + 2] for i in range(len(chars) - 1)) + " "


@cache
def word_pattern() -> str:
    """The regular expression of a word: two or more word characters or combining marks."""
    from latentstack.marks import combining_marks

    return f"[\\w{combining_marks()}]{{2,}}"
