"""Seeds and streams: the blog's numbers, and the properties the spawn scheme promises."""

import numpy as np
import pytest

from simstudy import seeding

# Printed in the blog post: np.random.seed(8888), then twenty randint(1e8) draws.
BLOG_FIRST_LIST = [
    28863715,
    20470441,
    59601088,
    35178672,
    31953535,
    54920184,
    6437049,
    49557007,
    32591667,
    33196361,
    14963174,
    59717179,
    32480075,
    70590040,
    82187373,
    67242005,
    76389711,
    43332706,
    66541139,
    8632395,
]
# Printed in the blog post: each of those seeds seeds the global generator, then one
# randint(1e8) draw (the "reproducible" parallel list).
BLOG_REPRODUCIBLE_LIST = [
    46621082,
    97292465,
    84093849,
    69981988,
    69717233,
    28029841,
    53811122,
    71335538,
    50534020,
    6092775,
    87017978,
    84213854,
    7721363,
    31245923,
    89469332,
    30208313,
    81965930,
    74720508,
    80658938,
    82125302,
]


def test_legacy_seeds_are_the_blogs_first_list():
    assert seeding.trial_seeds(8888, "legacy", 0, 20) == BLOG_FIRST_LIST


def test_legacy_trial_seeding_gives_the_blogs_reproducible_list():
    draws = []
    for seed in seeding.trial_seeds(8888, "legacy", 0, 20):
        with seeding.legacy_global_state(seed):
            draws.append(int(np.random.randint(1e8)))  # noqa: NPY002
    assert draws == BLOG_REPRODUCIBLE_LIST


def test_legacy_seeds_of_a_longer_study_start_with_the_shorter_one():
    long = seeding.trial_seeds(8888, "legacy", 0, 1000)
    assert long[:20] == BLOG_FIRST_LIST
    assert seeding.trial_seeds(8888, "legacy", 990, 1000) == long[990:]


@pytest.mark.parametrize("seeding_scheme", ["spawn", "legacy"])
def test_a_trials_seed_does_not_depend_on_the_range_it_is_computed_in(seeding_scheme):
    whole = seeding.trial_seeds(7, seeding_scheme, 0, 50)
    pieces = [seeding.trial_seeds(7, seeding_scheme, a, min(a + 7, 50)) for a in range(0, 50, 7)]
    assert [seed for piece in pieces for seed in piece] == whole


def test_spawn_seed_is_the_128_bit_state_of_the_spawned_child():
    children = np.random.SeedSequence(8888).spawn(5)
    for trial, child in enumerate(children):
        words = child.generate_state(4, dtype=np.uint32)
        expected = sum(int(word) << (32 * i) for i, word in enumerate(words))
        assert seeding.spawn_seed(8888, trial) == expected


def test_spawn_seeds_use_all_128_bits_and_do_not_collide():
    seeds = seeding.trial_seeds(8888, "spawn", 0, 2000)
    assert len(set(seeds)) == len(seeds)
    assert max(seeds) >= 2**120  # far beyond 32 or 64 bits
    assert all(0 <= seed < 2**128 for seed in seeds)


def test_streams_are_keyed_by_name_not_position():
    seed = seeding.spawn_seed(1, 0)
    first = seeding.method_stream(seed, "gmm").randint(1 << 30, size=5)
    again = seeding.method_stream(seed, "gmm").randint(1 << 30, size=5)
    other = seeding.method_stream(seed, "kmeans").randint(1 << 30, size=5)
    data = seeding.data_stream(seed).randint(1 << 30, size=5)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, data)


def test_stream_is_a_randomstate_over_the_full_seedsequence():
    rng = seeding.method_stream(12345, "gmm")
    assert isinstance(rng, np.random.RandomState)
    expected = np.random.MT19937(
        np.random.SeedSequence(12345, spawn_key=seeding.stream_key("method/gmm"))
    )
    assert rng.get_state()[1].tolist() == expected.state["state"]["key"].tolist()


@pytest.mark.parametrize(
    ("root", "scheme", "start", "stop", "message"),
    [
        (2**32, "legacy", 0, 3, "2**32"),
        (-1, "legacy", 0, 3, "-1"),
        (1, "shuffle", 0, 3, "'shuffle'"),
        (1, "spawn", 5, 2, "[5, 2)"),
    ],
)
def test_bad_seeding_inputs_are_refused_with_the_value(root, scheme, start, stop, message):
    with pytest.raises(ValueError) as caught:
        seeding.trial_seeds(root, scheme, start, stop)
    assert message in str(caught.value)


def numpy_spawn_state(root: int, trial: int) -> list[int]:
    """The four words NumPy's own SeedSequence gives trial ``trial`` of root ``root``."""
    sequence = np.random.SeedSequence(root, spawn_key=(trial,))
    return [int(word) for word in sequence.generate_state(4, dtype=np.uint32)]


def as_words(seed: int) -> list[int]:
    return [(seed >> (32 * i)) & 0xFFFFFFFF for i in range(4)]


ROOTS = [0, 1, 8888, 2**32 - 1, 2**32, 2**63, 2**127 + 5, 3**100, 2**256 - 1, 7**200]
TRIALS = [0, 1, 2, 2**31, 2**32 - 1, *np.random.default_rng(19).integers(0, 2**32, 6).tolist()]


@pytest.mark.parametrize("root", ROOTS)
@pytest.mark.parametrize("trial", TRIALS)
def test_computed_spawn_seeds_equal_numpys_seedsequence(root, trial):
    (seed,) = seeding.spawn_seeds(root, trial, trial + 1)
    assert as_words(seed) == numpy_spawn_state(root, trial)
    assert seed == seeding.spawn_seed(root, trial)


@pytest.mark.parametrize("root", ROOTS)
def test_computed_spawn_seeds_of_a_range_equal_numpys_trial_by_trial(root):
    start = int(np.random.default_rng(root % 1000).integers(0, 2**31))
    expected = [seeding.spawn_seed(root, trial) for trial in range(start, start + 300)]
    assert seeding.spawn_seeds(root, start, start + 300) == expected
    assert seeding.trial_seeds(root, "spawn", start, start + 300) == expected


def test_spawn_seeds_past_two_to_the_32_equal_numpys():
    start = 2**32 - 3  # the trial index takes two words from 2**32 on
    expected = [seeding.spawn_seed(8888, trial) for trial in range(start, start + 6)]
    assert seeding.spawn_seeds(8888, start, start + 6) == expected


def test_trial_seeds_do_not_build_a_seedsequence_per_trial(monkeypatch):
    # A seed manifest of 10**7 trials took minutes when every trial built its own
    # SeedSequence; the seeds are now computed on arrays of trials.
    expected = seeding.trial_seeds(8888, "spawn", 0, 1000)

    def one_by_one(*args, **kwargs):
        raise AssertionError("a SeedSequence was built for one trial")

    monkeypatch.setattr(np.random, "SeedSequence", one_by_one)
    assert seeding.trial_seeds(8888, "spawn", 0, 1000) == expected
    assert seeding.trial_seeds(8888, "spawn", 0, 0) == []
