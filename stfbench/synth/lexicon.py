"""A small English-like lexicon spelled in the phoneme inventory, and utterance alignments built from it.

Diphthongs and affricates are spelled as two inventory phonemes (ay = aa iy, ey = eh iy, aw = aa uw,
ch = t sh, jh = d sh); ng is spelled n. Words are upper case like LRS2/LRW transcripts; LRW-layout folders
are these words.

Durations: each phoneme's typical duration ÷ the speaker's rate × U(0.85, 1.2); utterances start with
0.12–0.3 s of silence, words are joined directly or (25 %) with a 40–140 ms pause, and the clip ends in
silence (at least 0.1 s for sentence clips; `sentence` packs words until four candidates have overflowed).
"""

from __future__ import annotations

import numpy as np

from stfbench.synth.phonemes import PHONEMES

LEXICON: dict[str, tuple[str, ...]] = {
    word: tuple(spelling.split())
    for word, spelling in {
        "ABOUT": "ah b aa uw t",
        "AFTER": "ae f t er",
        "AGAIN": "ah g eh n",
        "ALWAYS": "ao l w eh iy z",
        "BABY": "b eh iy b iy",
        "BACK": "b ae k",
        "BECAUSE": "b ih k ao z",
        "BEFORE": "b ih f ao r",
        "BETTER": "b eh t er",
        "BIG": "b ih g",
        "BOOK": "b uh k",
        "BOTH": "b ow th",
        "BUSY": "b ih z iy",
        "CALL": "k ao l",
        "CHANGE": "t sh eh iy n d sh",
        "COME": "k ah m",
        "COULD": "k uh d",
        "DAY": "d eh iy",
        "DIFFERENT": "d ih f er ah n t",
        "DOWN": "d aa uw n",
        "EARLY": "er l iy",
        "EVERY": "eh v r iy",
        "FAMILY": "f ae m ah l iy",
        "FAR": "f aa r",
        "FEEL": "f iy l",
        "FEW": "f y uw",
        "FIVE": "f aa iy v",
        "FOOD": "f uw d",
        "FOUR": "f ao r",
        "FREE": "f r iy",
        "FROM": "f r ah m",
        "GIVE": "g ih v",
        "GOOD": "g uh d",
        "GREAT": "g r eh iy t",
        "HAPPY": "hh ae p iy",
        "HAVE": "hh ae v",
        "HELP": "hh eh l p",
        "HERE": "hh iy r",
        "HOME": "hh ow m",
        "HOUSE": "hh aa uw s",
        "IMPORTANT": "ih m p ao r t ah n t",
        "KEEP": "k iy p",
        "KNOW": "n ow",
        "LAST": "l ae s t",
        "LATER": "l eh iy t er",
        "LIFE": "l aa iy f",
        "LITTLE": "l ih t ah l",
        "LOOK": "l uh k",
        "LOVE": "l ah v",
        "MAKE": "m eh iy k",
        "MANY": "m eh n iy",
        "MAYBE": "m eh iy b iy",
        "MEET": "m iy t",
        "MIGHT": "m aa iy t",
        "MONEY": "m ah n iy",
        "MORE": "m ao r",
        "MOVE": "m uw v",
        "MUCH": "m ah t sh",
        "MUSIC": "m y uw z ih k",
        "NEVER": "n eh v er",
        "NEW": "n uw",
        "NUMBER": "n ah m b er",
        "OFF": "ao f",
        "OPEN": "ow p ah n",
        "OTHER": "ah th er",
        "PAPER": "p eh iy p er",
        "PART": "p aa r t",
        "PEOPLE": "p iy p ah l",
        "PLACE": "p l eh iy s",
        "POINT": "p ao iy n t",
        "POWER": "p aa uw er",
        "PUBLIC": "p ah b l ih k",
        "PUSH": "p uh sh",
        "QUITE": "k w aa iy t",
        "READY": "r eh d iy",
        "REALLY": "r iy l iy",
        "ROOM": "r uw m",
        "SAFE": "s eh iy f",
        "SAME": "s eh iy m",
        "SCHOOL": "s k uw l",
        "SEVEN": "s eh v ah n",
        "SHE": "sh iy",
        "SHOW": "sh ow",
        "SMALL": "s m ao l",
        "SOME": "s ah m",
        "SOON": "s uw n",
        "START": "s t aa r t",
        "STILL": "s t ih l",
        "SUPPORT": "s ah p ao r t",
        "TAKE": "t eh iy k",
        "TALK": "t ao k",
        "THINK": "th ih n k",
        "THREE": "th r iy",
        "TIME": "t aa iy m",
        "TOGETHER": "t ah g eh th er",
        "TOO": "t uw",
        "TWO": "t uw",
        "UNDER": "ah n d er",
        "VERY": "v eh r iy",
        "VIEW": "v y uw",
        "VOICE": "v ao iy s",
        "WAIT": "w eh iy t",
        "WALK": "w ao k",
        "WANT": "w aa n t",
        "WATER": "w ao t er",
        "WAY": "w eh iy",
        "WEEK": "w iy k",
        "WELL": "w eh l",
        "WHERE": "w eh r",
        "WHY": "w aa iy",
        "WOMAN": "w uh m ah n",
        "WORK": "w er k",
        "WORLD": "w er l d",
        "YEAR": "y iy r",
        "YES": "y eh s",
        "YOU": "y uw",
        "YOUNG": "y ah n",
        "ZERO": "z iy r ow",
    }.items()
}
WORDS = tuple(sorted(LEXICON))

AlignmentList = list[tuple[str, float, float]]
WordSpans = list[tuple[str, float, float]]


def word_alignment(
    words: list[str], rng: np.random.Generator, speech_rate: float, start: float
) -> tuple[AlignmentList, WordSpans, float]:
    """Phonemes and word spans for `words` spoken from `start` (s); returns them and the end time."""
    phonemes: AlignmentList = []
    spans: WordSpans = []
    t = start
    for position, word in enumerate(words):
        if position and rng.random() < 0.25:
            pause = rng.uniform(0.04, 0.14)
            phonemes.append(("sil", t, t + pause))
            t += pause
        word_start = t
        for symbol in LEXICON[word]:
            length = PHONEMES[symbol].duration / speech_rate * rng.uniform(0.85, 1.2)
            phonemes.append((symbol, t, t + length))
            t += length
        spans.append((word, word_start, t))
    return phonemes, spans, t


def with_silence(phonemes: AlignmentList, start: float, end: float) -> AlignmentList:
    """Fill [start, end] outside the phonemes with `sil` and clip the phonemes to it (empty ones dropped)."""
    out: AlignmentList = []
    t = start
    for symbol, s, e in phonemes:
        s, e = max(s, start), min(e, end)
        if e <= s:
            continue
        if s > t + 1e-9:
            out.append(("sil", t, s))
        out.append((symbol, s, e))
        t = e
    if end > t + 1e-9:
        out.append(("sil", t, end))
    merged: AlignmentList = []
    for item in out:  # adjacent silences → one
        if merged and item[0] == "sil" and merged[-1][0] == "sil":
            merged[-1] = ("sil", merged[-1][1], item[2])
        else:
            merged.append(item)
    return merged


def sentence(rng: np.random.Generator, duration: float, speech_rate: float) -> tuple[AlignmentList, WordSpans]:
    """A random sentence filling a `duration`-second clip (≥ one word), with leading/trailing silence: words
    are appended while one of up to 4 random candidates still ends ≥ 0.1 s before the clip end."""
    lead = rng.uniform(0.12, 0.3)
    words = [WORDS[int(rng.integers(len(WORDS)))]]
    phonemes, spans, _ = word_alignment(words, rng, speech_rate, lead)
    misses = 0
    while misses < 4:
        candidate = [*words, WORDS[int(rng.integers(len(WORDS)))]]
        trial = word_alignment(candidate, rng, speech_rate, lead)
        if trial[2] > duration - 0.1:
            misses += 1
            continue
        words, (phonemes, spans, _) = candidate, trial
    return with_silence(phonemes, 0.0, duration), spans


def word_in_context(
    rng: np.random.Generator, word: str, duration: float, speech_rate: float
) -> tuple[AlignmentList, AlignmentList, WordSpans]:
    """LRW-style: `word` centred in the clip between context words cut by the clip edges.

    Returns (full alignment incl. phonemes outside [0, duration], alignment clipped to the clip, word spans)."""
    before, after = (WORDS[int(rng.integers(len(WORDS)))] for _ in range(2))
    phonemes, spans, _ = word_alignment([before, word, after], rng, speech_rate, 0.0)
    target = spans[1]
    shift = duration / 2 - (target[1] + target[2]) / 2
    full = [(s, a + shift, b + shift) for s, a, b in phonemes]
    spans = [(w, a + shift, b + shift) for w, a, b in spans]
    clipped_spans = [(w, max(a, 0.0), min(b, duration)) for w, a, b in spans if b > 0 and a < duration]
    return full, with_silence(full, 0.0, duration), clipped_spans
