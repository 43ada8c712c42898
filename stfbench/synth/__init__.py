"""Licence-free synthetic talking-face corpus: formant speech, phoneme-driven faces, exact ground truth.

`generate_corpus` writes a corpus (lrs2 or lrw layout), `ensure_corpus` returns a cached one (generating it
on first use), `load_ground_truth` reads a clip's exact phonemes/landmarks/articulation, and `PHONEMES` is the
phoneme inventory (symbol → class and articulatory/acoustic targets).
"""

from stfbench.synth.corpus import CorpusInfo, CorpusSpec, ensure_corpus, generate_corpus
from stfbench.synth.phonemes import PHONEMES, Phoneme
from stfbench.synth.truth import ClipTruth, load_ground_truth

__all__ = [
    "PHONEMES",
    "ClipTruth",
    "CorpusInfo",
    "CorpusSpec",
    "Phoneme",
    "ensure_corpus",
    "generate_corpus",
    "load_ground_truth",
]
