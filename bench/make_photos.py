"""bench/make_photos.py — the image set of the vision benchmarks: N photograph-like 640x480 JPEGs.

Deterministic (seeded): smooth colour fields (sums of random low-frequency waves), a few shapes
with soft edges, and sensor-like noise, saved with PIL at quality 90 (4:2:0), so decoding costs
what it costs for photographs (entropy decoding dominates, and these files have a photograph's
size: about 100 KB each). Usage: python3 bench/make_photos.py DIR [N (200)]
"""
import os
import sys

import numpy as np
from PIL import Image


def photo(rng, h=480, w=640):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        field = rng.uniform(60, 190)
        for _ in range(6):
            fx, fy = rng.uniform(0.2, 6.0, 2) / np.array([w, h])
            field = field + rng.uniform(10, 40) * np.sin(2 * np.pi * (fx * x + fy * y) + rng.uniform(0, 6.3))
        img[..., c] = field
    for _ in range(12):  # soft-edged discs of other colours
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(15, 120)
        mask = np.clip((r - np.sqrt((y - cy) ** 2 + (x - cx) ** 2)) / 6.0, 0, 1)[..., None]
        img = img * (1 - mask) + mask * rng.uniform(0, 255, 3)
    img += rng.normal(0, 6, img.shape)  # sensor noise and texture
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261126)
    for i in range(n):
        path = os.path.join(out, "photo_%03d.jpg" % i)
        img = photo(rng)
        if not os.path.exists(path):
            img.save(path, quality=90)


if __name__ == "__main__":
    main()
