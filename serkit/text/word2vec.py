"""Word2Vec on the transcripts of data dirs (Mikolov et al. 2013, via gensim), the text space that
Speech2Vec is aligned to (Chung et al. 2018 §5.2: skip-gram Word2Vec on the same transcripts).

Sentences are the ``text`` lines of the data dirs, tokenised with
:func:`serkit.text.normalize.tokenize` (idempotent on normalised ``text``; ``text`` files written by
hand or by older tools come out the same way). Decisions:

- Non-verbal tags (``<laughter>``) are kept as tokens: they are part of the transcript a model reads
  (they get vectors like words; Speech2Vec has none, as ``words.ctm`` holds spoken words only).
- Defaults: 50-d (Speech2Vec's best size, and the spaces must have equal dimensions to be aligned),
  window 3 (Speech2Vec's k), skip-gram (Chung et al. 2018), gensim's min_count 5 and negative
  sampling, 20 epochs (small transcript corpora need more passes than gensim's 5), seed 1.
- ``workers=1`` (default) is bit-reproducible for a seed; more workers are faster but not
  (``mini_corpus.md`` §5). The vocabulary is sorted by frequency, as alignment expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from serkit import datadir
from serkit.errors import SerkitError
from serkit.text.normalize import tokenize
from serkit.text.word_vectors import WordVectors


def read_sentences(data_dirs: Sequence[str | Path], text_file: str = "text") -> list[list[str]]:
    """The tokenised transcript lines of every data dir, in utterance order (empty lines dropped)."""
    sentences: list[list[str]] = []
    for path in data_dirs:
        data = datadir.load(path)
        source = data.text if text_file == "text" else data.text_asr
        if not source:
            raise SerkitError(f"no {text_file} in the data dir", path=path, hint="prepare transcripts first")
        sentences += [tokens for utt in data.utts if (tokens := tokenize(source.get(utt, "")))]
    return sentences


VECTORS_FILE = "w2v.bin"  # word2vec binary (serkit.text.embeddings_io)


def train_word2vec(
    data_dirs: Sequence[str | Path],
    out_dir: str | Path | None = None,
    *,
    dim: int = 50,
    window: int = 3,
    min_count: int = 5,
    sg: bool = True,
    epochs: int = 20,
    seed: int = 1,
    workers: int = 1,
    text_file: str = "text",
    command: str = "",
):
    """Train gensim Word2Vec on the data dirs' transcripts; return its vectors as :class:`WordVectors`.

    With ``out_dir``: save them as ``out_dir/w2v.bin`` with the records ``config.yaml`` (the
    settings, by ``serkit train-word2vec`` option name), ``cmd.txt`` and ``env.txt``.
    """
    from gensim.models import Word2Vec

    sentences = read_sentences(data_dirs, text_file)
    if sum(len(s) for s in sentences) == 0:
        raise SerkitError("the transcripts hold no word", path=data_dirs[0])
    model = Word2Vec(
        vector_size=dim, window=window, min_count=min_count, sg=int(sg), seed=seed, workers=workers
    )
    model.build_vocab(sentences)
    if len(model.wv) == 0:
        raise SerkitError(f"no word occurs {min_count} times", path=data_dirs[0], hint="lower --min-count")
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    vectors = WordVectors.from_gensim(model.wv)
    if out_dir is not None:
        from serkit.experiment import write_records
        from serkit.text.embeddings_io import save_vectors

        options = {"dim": dim, "window": window, "min_count": min_count, "sg": sg, "epochs": epochs}
        options.update(seed=seed, workers=workers, text=text_file)
        write_records(out_dir, options, command)
        save_vectors(vectors, Path(out_dir) / VECTORS_FILE)
    return vectors
