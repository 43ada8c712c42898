"""Piecewise-affine image warping over a fixed triangulation (OpenCV raster + remap).

For each output pixel, the triangle of the *destination* mesh that contains it is rasterised into an id
image; the pixel's source position is that triangle's affine map (destination → source) applied to the pixel
centre, and `cv2.remap` samples the source bilinearly. Shared edges map identically in both neighbours, so
the warp is continuous. Pixel centres are at integer coordinates (OpenCV and dlib convention).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay

_SUBPIXEL_BITS = 4  # fillPoly fixed-point precision: 1/16 px
_MIN_AREA = 1e-3  # px²; flatter destination triangles cover no pixel and are not drawn


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles (K, 3) of points (N, 2); fixed once and reused for every frame."""
    return np.ascontiguousarray(Delaunay(points).simplices.astype(np.int32))


class PiecewiseAffine:
    """Backward maps for warping a source image so that `src` points land on `dst` points."""

    def __init__(self, triangles: np.ndarray, size: tuple[int, int]) -> None:
        self.triangles = triangles  # (K, 3)
        self.height, self.width = size
        ys, xs = np.mgrid[0 : self.height, 0 : self.width]
        self._xs = xs.astype(np.float32)  # (H, W)
        self._ys = ys.astype(np.float32)  # (H, W)

    def maps(self, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(map_x, map_y)` float32 (H, W) for `cv2.remap`, from points src (N, 2) → dst (N, 2)."""
        src_tri = src[self.triangles]  # (K, 3, 2)
        dst_tri = dst[self.triangles]  # (K, 3, 2)
        edge1, edge2 = dst_tri[:, 1] - dst_tri[:, 0], dst_tri[:, 2] - dst_tri[:, 0]
        area = 0.5 * np.abs(edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0])  # (K,)
        drawn = area > _MIN_AREA
        homogeneous = np.concatenate([dst_tri, np.ones((len(dst_tri), 3, 1))], axis=2).transpose(0, 2, 1)  # (K,3,3)
        homogeneous[~drawn] = np.eye(3)
        affine = src_tri.transpose(0, 2, 1) @ np.linalg.inv(homogeneous)  # (K, 2, 3): dst → src
        ids = np.zeros((self.height, self.width), np.uint16)  # 0 = not covered (the mesh must enclose the frame)
        fixed = np.round(dst_tri * (1 << _SUBPIXEL_BITS)).astype(np.int32)  # (K, 3, 2)
        for index in np.flatnonzero(drawn):
            cv2.fillPoly(ids, [fixed[index]], int(index) + 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
        table = np.concatenate([np.zeros((1, 6)), affine.reshape(-1, 6)]).astype(np.float32)  # (K + 1, 6)
        coefficients = table[ids]  # (H, W, 6); an uncovered pixel would sample the source origin
        map_x = coefficients[..., 0] * self._xs + coefficients[..., 1] * self._ys + coefficients[..., 2]
        map_y = coefficients[..., 3] * self._xs + coefficients[..., 4] * self._ys + coefficients[..., 5]
        return map_x, map_y

    def warp(self, image: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Warp `image` (H', W', 3) uint8 so its `src` points move to `dst`; output (H, W, 3) uint8."""
        map_x, map_y = self.maps(src, dst)
        return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
