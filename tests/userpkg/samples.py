"""A user's data generator: two independent normal samples (not part of simstudy)."""


def two_samples(rng, *, n=20, shift=0.0):
    return {"x": rng.standard_normal(n), "y": shift + rng.standard_normal(n)}
