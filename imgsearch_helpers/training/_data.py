"""Private: training data for the offline models (images, captions, tokenizer, batches).

Scenes come from :mod:`imgsearch_helpers.clipart`. They are drawn at 128 px and
shrunk once to the models' 64 px with the same bicubic resize the saved image
processors use, so training sees exactly what inference will see.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .. import clipart
from ..clipart import generic_kind
from ..embeddings import SIGLIP_TEXT_LENGTH

TRAIN_SEED, EVAL_SEED = 0, 1
TEXT_LENGTH = SIGLIP_TEXT_LENGTH  # model_max_length; SigLIP pads every text to it
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
_ENGLISH = clipart.CAPTION_LANGUAGES.index("en")
# CLIP's own normalisation for the CLIP model; SigLIP and ViT use 0.5/0.5 (their defaults).
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)


def to_model_size(image: Image.Image, size: int = clipart.MODEL_IMAGE_SIZE) -> np.ndarray:
    """Shrink a square RGB image to ``size`` px; returns uint8 (3, size, size)."""
    small = image.convert("RGB").resize((size, size), Image.BICUBIC)
    return np.asarray(small, dtype=np.uint8).transpose(2, 0, 1)


def images_to_tensor(images) -> torch.Tensor:
    """Stack PIL images as a uint8 tensor (n, 3, 64, 64)."""
    return torch.from_numpy(np.stack([to_model_size(im) for im in images]))


def normalise(batch: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 (n, 3, h, w) -> float, rescaled to [0, 1] then standardised per channel."""
    mean = torch.tensor(mean).view(1, 3, 1, 1)
    std = torch.tensor(std).view(1, 3, 1, 1)
    return (batch.float() / 255.0 - mean) / std


def _learn_merges(words: dict[tuple[str, ...], int], max_merges: int) -> list[tuple[str, str]]:
    """Plain BPE: repeatedly merge the most frequent adjacent pair.

    Ties go to the alphabetically first pair. (The ``tokenizers`` trainer breaks
    ties in hash order, which made the vocabulary differ between runs.)
    """
    merges = []
    while len(merges) < max_merges:
        pairs: dict[tuple[str, str], int] = {}
        for word, freq in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] = pairs.get(pair, 0) + freq
        if not pairs:
            break  # every word is a single token
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged = {}
        for word, freq in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + freq
        words = merged
    return merges


def build_tokenizer(captions, vocab_size: int = 2000):
    """Learn a byte-level BPE on ``captions`` and wrap it as a transformers ``CLIPTokenizer``.

    Text is split into words and bytes by ``CLIPTokenizer``'s own ``tokenizers``
    normaliser and pre-tokeniser; the merges are learned by :func:`_learn_merges`.
    The vocabulary is laid out like OpenAI's CLIP: the 256 byte symbols, the same
    with the end-of-word mark ``</w>``, the merges, then start and end of text.
    Every byte is in the vocabulary, so no input is ever unknown (a new word is
    spelled out in pieces), and end-of-text has the largest id, so both of
    transformers' pooling rules (argmax of id, first end-of-text) pick the same token.

    Parameters
    ----------
    captions : iterable of str
    vocab_size : int
        Upper bound; learning stops earlier once every word of the corpus is one token.

    Returns
    -------
    transformers.CLIPTokenizer
    """
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    splitter = CLIPTokenizer(vocab={BOS: 0, EOS: 1}, merges=[]).backend_tokenizer
    words: dict[tuple[str, ...], int] = {}
    for caption in captions:
        text = splitter.normalizer.normalize_str(caption)
        for word, _ in splitter.pre_tokenizer.pre_tokenize_str(text):
            key = tuple(word[:-1]) + (word[-1] + "</w>",)
            words[key] = words.get(key, 0) + 1
    symbols = sorted(pre_tokenizers.ByteLevel.alphabet())
    merges = _learn_merges(words, vocab_size - 2 * len(symbols) - 2)
    vocab: dict[str, int] = {}
    for token in symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [BOS, EOS]:
        vocab.setdefault(token, len(vocab))
    return CLIPTokenizer(
        vocab=vocab,
        merges=merges,
        model_max_length=TEXT_LENGTH,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=EOS,
        unk_token=EOS,
    )


@dataclass
class TrainingData:
    """Scenes ready for training: 64 px images, caption ids and their tokens."""

    images: torch.Tensor  # uint8 (n, 3, 64, 64)
    labels: torch.Tensor  # int64 (n,), index into clipart.SCENE_KINDS
    scene_captions: torch.Tensor  # int64 (n, c): ids into ``captions``
    captions: list[str]  # unique captions
    tokens: torch.Tensor  # int64 (len(captions), TEXT_LENGTH), padded with EOS
    lengths: torch.Tensor  # int64 (len(captions),), tokens before padding
    caption_kinds: torch.Tensor  # int64 (len(captions),): kind a generic caption fits, else -1
    tokenizer: object
    # Captions naming each scene's attributes ("a red car", "two cats"), -1 padded: (n, a) ids,
    # and each one's hard negatives ("a blue car", "three cats"), -1 padded: (n, a, k) ids.
    attribute_captions: torch.Tensor | None = None
    negatives: torch.Tensor | None = None
    # int64 (len(captions),): the caption's language, an index into clipart.CAPTION_LANGUAGES.
    language: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def english(self) -> torch.Tensor | None:
        """bool (len(captions),): the caption is in English (None without ``language``)."""
        return None if self.language is None else self.language == _ENGLISH


def prepare_data(
    n_scenes: int, seed: int = TRAIN_SEED, tokenizer=None, progress: bool = True,
    attributes: bool = True, attribute_languages=("en",),
) -> TrainingData:
    """Generate ``n_scenes`` scenes and turn them into tensors (and a tokenizer if none given).

    Parameters
    ----------
    n_scenes, seed : int
    tokenizer : CLIPTokenizer, optional
        Default: one learned on these captions (:func:`build_tokenizer`).
    progress : bool
    attributes : bool
        Also keep each scene's attribute captions and their hard negatives
        (:meth:`imgsearch_helpers.clipart.Scene.attribute_captions`); the training
        recipe decides how often they are used.
    attribute_languages : sequence of str
        The languages of the attribute captions (``clipart.CAPTION_LANGUAGES``): English
        only by default, so that the data, the tokenizer and the weights of the recipes
        that use English ones stay what they were.
    """
    from tqdm.auto import tqdm

    images, labels, caps, attrs, language = [], [], [], [], {}
    # One scene at a time: 12,000 scenes at full size would take ~600 MB.
    scenes = clipart.iter_scenes(n_scenes, seed)
    for scene in tqdm(scenes, total=n_scenes, desc="drawing scenes", disable=not progress,
                      mininterval=2):
        images.append(to_model_size(scene.image))
        labels.append(clipart.SCENE_KINDS.index(scene.kind))
        caps.append(scene.captions)
        by_language = {lang: scene.attribute_captions(lang)
                       for lang in (attribute_languages if attributes else ())}
        attrs.append([pair for pairs in by_language.values() for pair in pairs])
        # A text written in French or German anywhere counts as French or German.
        texts = [*zip(scene.captions, scene.languages),
                 *((t, lang) for lang, pairs in by_language.items() for c, negs in pairs
                   for t in (c, *negs))]
        for caption, lang in texts:
            if lang != "en" or caption not in language:
                language[caption] = lang
    every = [c for cs in caps for c in cs] + [t for pairs in attrs for c, negs in pairs for t in [c, *negs]]
    clipart.check_heldout_queries(every)
    unique = sorted(set(every))
    index = {c: k for k, c in enumerate(unique)}
    width = max(len(cs) for cs in caps)
    caps = [(cs * width)[:width] for cs in caps]  # a scene with fewer captions repeats its own
    if tokenizer is None:
        tokenizer = build_tokenizer(unique)
    enc = tokenizer(unique, padding="max_length", max_length=TEXT_LENGTH, truncation=True)
    attribute_ids, negative_ids = _attribute_tensors(attrs, index) if attributes else (None, None)
    return TrainingData(
        images=torch.from_numpy(np.stack(images)),
        labels=torch.tensor(labels),
        scene_captions=torch.tensor([[index[c] for c in cs] for cs in caps]),
        captions=unique,
        tokens=torch.tensor(enc["input_ids"]),
        lengths=torch.tensor([sum(m) for m in enc["attention_mask"]]),
        caption_kinds=torch.tensor([_kind_index(generic_kind(c)) for c in unique]),
        tokenizer=tokenizer,
        attribute_captions=attribute_ids,
        negatives=negative_ids,
        language=torch.tensor([clipart.CAPTION_LANGUAGES.index(language[c]) for c in unique]),
    )


def _attribute_tensors(attrs, index):
    """(n, a) attribute caption ids and (n, a, k) hard-negative ids, both padded with -1."""
    a = max(1, max(len(pairs) for pairs in attrs))
    k = max(1, max((len(negs) for pairs in attrs for _, negs in pairs), default=1))
    ids = torch.full((len(attrs), a), -1, dtype=torch.long)
    negatives = torch.full((len(attrs), a, k), -1, dtype=torch.long)
    for i, pairs in enumerate(attrs):
        for j, (caption, negs) in enumerate(pairs):
            ids[i, j] = index[caption]
            negatives[i, j, :len(negs)] = torch.tensor([index[t] for t in negs], dtype=torch.long)
    return ids, negatives


def _kind_index(kind: str | None) -> int:
    return -1 if kind is None else clipart.SCENE_KINDS.index(kind)


class Batches:
    """Endless random batches of scene indices: a fresh permutation each epoch."""

    def __init__(self, n: int, batch_size: int, rng: np.random.Generator):
        self.n, self.batch_size, self.rng = n, batch_size, rng
        self._order, self._pos = rng.permutation(n), 0

    def next(self) -> torch.Tensor:
        if self._pos + self.batch_size > self.n:
            self._order, self._pos = self.rng.permutation(self.n), 0
        idx = self._order[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return torch.from_numpy(idx)


def augment(batch: torch.Tensor, rng: np.random.Generator, shift: int = 4) -> torch.Tensor:
    """Random mirror and a shift of up to ``shift`` px (edge padded).

    No caption says left or right, so mirroring keeps every caption true.
    """
    n, _, h, w = batch.shape
    flip = torch.from_numpy(rng.random(n) < 0.5)
    batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(-1), batch)
    padded = torch.nn.functional.pad(batch.float(), (shift,) * 4, mode="replicate")
    dx, dy = rng.integers(0, 2 * shift + 1, n), rng.integers(0, 2 * shift + 1, n)
    out = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    return out.to(torch.uint8)


def sample_captions(data: TrainingData, idx: torch.Tensor, rng: np.random.Generator,
                    attribute_share: float | None = 0.0, hard_negatives: int = 0,
                    keep_translations: bool = False, translated_attributes: bool = False,
                    **_loss_options):
    """Pick one caption per scene (and hard negatives); returns (caption ids, positives mask).

    ``positives[i, j]`` is True when caption ``j`` of the batch is also one of
    scene ``i``'s captions, or is true of every scene of scene ``i``'s kind ("a
    photo of a cat" for any cat), so the losses do not push a true description
    away from its picture.

    Parameters
    ----------
    data : TrainingData
    idx : torch.Tensor
        The batch's scene indices.
    rng : numpy.random.Generator
    attribute_share : float or None
        How often a scene that has attribute captions ("a red car", "two cats") gets
        one of them instead of its other captions: 0 never (the original recipe),
        None at their natural share (one caption among all of the scene's), else this
        probability.
    hard_negatives : int
        For each scene given an attribute caption, this many of its hard negatives
        ("a blue car" for a red car) are added after the batch's captions. Each is a
        wrong answer for its own picture and, like every caption, a right one for any
        other picture of the batch it is true of.
    keep_translations : bool
        An attribute caption replaces only a caption picked in English, so that the
        French and German captions keep their share of the batch (the attribute
        captions are English). ``attribute_share`` is then the share of the English picks.
    translated_attributes : bool
        The data has attribute captions in every language (``prepare_data(...,
        attribute_languages=...)``): an attribute caption replaces a caption picked in
        its own language, so every language keeps its share of the batch and gets its
        share of attribute captions and hard negatives. ``attribute_share`` is then the
        share of the picks of each language (``keep_translations`` adds nothing).
    **_loss_options
        The recipe's other keys (``hard_loss``), which the losses read, not the sampling.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Caption ids, shape (b + m,): the b chosen captions, then m hard negatives;
        positives, shape (b, b + m).
    """
    options = data.scene_captions[idx]  # (b, c)
    pick = torch.from_numpy(rng.integers(0, options.shape[1], len(idx)))
    chosen = options[torch.arange(len(idx)), pick]
    use_attributes = attribute_share != 0.0 and data.attribute_captions is not None
    if use_attributes:
        attr = data.attribute_captions[idx]  # (b, a), -1 padded
        usable = attr >= 0
        if translated_attributes:
            if data.language is None:
                raise ValueError("translated_attributes needs the captions' languages (prepare_data)")
            # Only the attribute captions in the language of the caption picked.
            usable &= data.language[attr.clamp(min=0)] == data.language[chosen].view(-1, 1)
        counts = usable.sum(1)
        share = (counts / (counts + options.shape[1]) if attribute_share is None
                 else torch.where(counts > 0, float(attribute_share), 0.0))
        take = torch.from_numpy(rng.random(len(idx))) < share
        if keep_translations and not translated_attributes:
            take &= data.language[chosen] == _ENGLISH
        nth = torch.from_numpy(np.floor(rng.random(len(idx)) * counts.clamp(min=1).numpy()).astype(np.int64))
        slot = ((usable.cumsum(1) - 1 == nth.view(-1, 1)) & usable).long().argmax(1)  # the nth usable
        rows = torch.arange(len(idx))
        chosen = torch.where(take, attr[rows, slot], chosen)
        options = torch.cat([options, attr], 1)
        texts = [chosen]
        if hard_negatives:
            negs = data.negatives[idx[take], slot[take]]  # (t, k), -1 padded
            available = (negs >= 0).sum(1)
            for _ in range(hard_negatives):
                pick_neg = np.floor(rng.random(len(negs)) * available.clamp(min=1).numpy()).astype(np.int64)
                ids = negs[torch.arange(len(negs)), torch.from_numpy(pick_neg)]
                texts.append(ids[available > 0])
        chosen = torch.cat(texts)
    positives = (options.unsqueeze(-1) == chosen.view(1, 1, -1)).any(1)  # (b, b + m)
    positives |= data.caption_kinds[chosen].view(1, -1) == data.labels[idx].view(-1, 1)
    return chosen, positives


def own_negatives(data: TrainingData, idx: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
    """Each scene's hard negatives for the caption it was given (-1 where it has none).

    Parameters
    ----------
    data : TrainingData
    idx : torch.Tensor, shape (b,)
        The batch's scene indices.
    captions : torch.Tensor, shape (b,)
        The caption id each scene was given (the first b of :func:`sample_captions`).

    Returns
    -------
    torch.Tensor, shape (b, k)
        Caption ids, -1 padded: for a scene given one of its attribute captions ("a red
        car"), that caption's hard negatives ("a blue car", "a white car", ...); all -1
        for any other scene.
    """
    if data.attribute_captions is None:
        return torch.full((len(idx), 1), -1, dtype=torch.long)
    match = data.attribute_captions[idx] == captions.view(-1, 1)  # (b, a)
    slot = match.float().argmax(1)
    negatives = data.negatives[idx, slot]  # (b, k)
    return torch.where(match.any(1, keepdim=True), negatives, -1)


def text_inputs(data: TrainingData, caption_ids: torch.Tensor, full_length: bool):
    """Token tensors for a batch: padded to 64 (SigLIP) or to the longest caption (CLIP)."""
    length = TEXT_LENGTH if full_length else int(data.lengths[caption_ids].max())
    ids = data.tokens[caption_ids, :length]
    mask = (torch.arange(length).view(1, -1) < data.lengths[caption_ids].view(-1, 1)).long()
    return ids, mask
