"""Licence-free synthetic talking-face corpus: formant speech, phoneme-driven faces, exact ground truth."""
