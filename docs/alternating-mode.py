#!/usr/bin/python3
"""The linear model of one ring mode under gossip, the QGM correction and
the model-variant term (docs/RESULTS.md, "Why lambda_m = 0.01 runs").

Along mode k of a ring of 16 (x_i proportional to cos(2 pi k i / 16)),
one iteration as ALGORITHM.md runs it is, with u = lr * m:
    gossip            x1 = l x,  l = 1/3 + 2/3 cos(2 pi k / 16)
    QGM correction    u1 = u - s (x1 - x)          (s = 1 as specified)
    model-variant     g  = a (x1 - cos(2 pi k / 16) x)
                      the pull of the mixed model towards the neighbours'
                      models before mixing; a = lr * curvature of the term
    Nesterov step     u2 = 0.9 u1 + g,  x2 = x1 - (g + 0.9 u2)
It prints, for each mode and correction scale, the spectral radius with no
pull (a = 0) and the smallest a at which the mode grows.  Debian's
python3-numpy is all it needs.
"""
import numpy as np


def radius(k, a, scale, beta=0.9):
    theta = 2 * np.pi * k / 16
    mix, neighbours = 1 / 3 + 2 / 3 * np.cos(theta), np.cos(theta)
    columns = []
    for x, u in ((1.0, 0.0), (0.0, 1.0)):
        x1 = mix * x
        u1 = u - scale * (x1 - x)
        g = a * (x1 - neighbours * x)
        u2 = beta * u1 + g
        columns.append((x1 - (g + beta * u2), u2))
    return max(abs(np.linalg.eigvals(np.array(columns).T)))


def threshold(k, scale):
    for a in np.linspace(0, 3, 30001):
        if radius(k, a, scale) > 1:
            return a
    return None


if __name__ == "__main__":
    print("mode  correction  radius(a=0)  grows from a =")
    for k in (8, 7, 6, 4):
        for scale in (1.0, 0.1, 0.0):
            t = threshold(k, scale)
            print(f"{k:4d}  {scale:10.1f}  {radius(k, 0, scale):11.3f}  "
                  + (f"{t:.3f}" if t is not None else "> 3"))
