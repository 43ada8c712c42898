"""Photographic face textures: public-domain portraits that ship inside installed packages.

- `astronaut`: scikit-image's `data.astronaut()` (Eileen Collins, NASA, public domain).
- `grace_hopper`: matplotlib's sample `grace_hopper.jpg` (US Navy photo, public domain).

Each portrait's 68 iBUG landmarks were found once with dlib's frontal detector (1 upsample) and the 68-point
predictor on the unmodified image and are fixed here as constants (`BASE_LANDMARKS`), so generation needs
no dlib and does not move with dlib versions; tests/test_synth_face.py checks dlib still agrees. A portrait
can also be mirrored (landmarks re-indexed with `IBUG_MIRROR`), which doubles the bases.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

PORTRAITS = ("astronaut", "grace_hopper")

# dlib 19.24 (frontal detector, 1 upsample; shape_predictor_68_face_landmarks.dat) on each portrait, pixels.
BASE_LANDMARKS: dict[str, tuple[tuple[int, int], ...]] = {
    "astronaut": (
        (179, 104),
        (179, 116),
        (180, 128),
        (181, 139),
        (185, 151),
        (191, 160),
        (200, 169),
        (209, 176),
        (221, 178),
        (232, 177),
        (243, 171),
        (253, 164),
        (260, 154),
        (265, 144),
        (268, 132),
        (270, 121),
        (272, 109),
        (186, 94),
        (192, 88),
        (200, 87),
        (208, 89),
        (216, 92),
        (236, 94),
        (244, 91),
        (252, 91),
        (260, 92),
        (265, 98),
        (226, 102),
        (225, 111),
        (225, 119),
        (225, 127),
        (214, 131),
        (219, 133),
        (224, 134),
        (229, 133),
        (234, 132),
        (195, 101),
        (200, 98),
        (207, 98),
        (212, 104),
        (206, 104),
        (200, 104),
        (237, 105),
        (243, 100),
        (250, 100),
        (255, 104),
        (250, 106),
        (244, 106),
        (200, 139),
        (209, 139),
        (218, 139),
        (223, 141),
        (230, 140),
        (237, 140),
        (245, 141),
        (237, 151),
        (229, 155),
        (222, 155),
        (216, 154),
        (208, 149),
        (203, 140),
        (218, 143),
        (223, 144),
        (229, 143),
        (243, 142),
        (229, 150),
        (223, 150),
        (217, 149),
    ),
    "grace_hopper": (
        (175, 202),
        (177, 224),
        (181, 246),
        (187, 268),
        (195, 289),
        (206, 307),
        (223, 321),
        (245, 330),
        (269, 331),
        (293, 327),
        (313, 318),
        (329, 302),
        (340, 282),
        (347, 260),
        (351, 238),
        (354, 215),
        (354, 192),
        (188, 186),
        (196, 171),
        (211, 164),
        (228, 165),
        (243, 171),
        (283, 167),
        (298, 159),
        (314, 157),
        (330, 163),
        (339, 176),
        (265, 187),
        (266, 203),
        (268, 220),
        (269, 237),
        (248, 246),
        (258, 249),
        (269, 252),
        (279, 248),
        (288, 244),
        (209, 194),
        (217, 187),
        (227, 186),
        (238, 193),
        (228, 195),
        (218, 196),
        (291, 190),
        (301, 182),
        (311, 182),
        (319, 188),
        (311, 190),
        (301, 191),
        (233, 280),
        (245, 274),
        (258, 271),
        (268, 273),
        (277, 271),
        (288, 272),
        (301, 275),
        (289, 283),
        (278, 287),
        (269, 289),
        (259, 288),
        (246, 284),
        (237, 279),
        (258, 277),
        (268, 278),
        (277, 277),
        (296, 276),
        (277, 278),
        (268, 279),
        (259, 279),
    ),
}


# iBUG 68-point index of each point's mirror image (left ↔ right).
IBUG_MIRROR = np.array(
    [
        *range(16, -1, -1),  # jaw
        *range(26, 21, -1),  # brows
        *range(21, 16, -1),
        *(27, 28, 29, 30, 35, 34, 33, 32, 31),  # nose
        *(45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40),  # eyes
        *(54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55),  # outer lips
        *(64, 63, 62, 61, 60, 67, 66, 65),  # inner lips
    ]
)


@dataclass(frozen=True)
class Portrait:
    """An RGB uint8 image (H, W, 3) and its 68 landmarks (68, 2) in pixel coordinates."""

    name: str
    image: np.ndarray
    landmarks: np.ndarray


def load_image(name: str) -> np.ndarray:
    if name == "astronaut":
        from skimage import data

        return np.ascontiguousarray(data.astronaut())
    if name == "grace_hopper":
        from matplotlib import cbook

        with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as image:
            return np.asarray(image.convert("RGB")).copy()
    raise ValueError(f"unknown portrait {name!r} (choose from {', '.join(PORTRAITS)})")


@cache
def load_portrait(name: str, mirrored: bool = False) -> Portrait:
    """The portrait (optionally mirrored) and its base landmarks."""
    image = load_image(name)
    landmarks = np.array(BASE_LANDMARKS[name], np.float64)
    if mirrored:
        image = np.ascontiguousarray(image[:, ::-1])
        landmarks = landmarks[IBUG_MIRROR].copy()
        landmarks[:, 0] = image.shape[1] - 1 - landmarks[:, 0]
    image.setflags(write=False)
    landmarks.setflags(write=False)
    return Portrait(name=name, image=image, landmarks=landmarks)
