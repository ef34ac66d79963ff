"""Generated JSON-shaped values for the totality tests (a parser must answer any of them with a result or its own
configuration error): scalars of every kind and size, hand-picked strings near a grammar's edges, and lists and
mappings of them, some with keys a JSON document cannot have."""

from hypothesis import strategies as st


def scalars(*, magnitude: int, samples: list, extra=()):
    """None, booleans, integers (some up to `magnitude` digits), floats with NaN and infinities, the `extra`
    strategies, short text and the hand-picked `samples`."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**magnitude), max_value=10**magnitude),
        st.floats(allow_nan=True, allow_infinity=True),
        *extra,
        st.text(max_size=20),
        st.sampled_from(samples),
    )


def documents(scalars, *, keys, size: int, key_size: int, odd_keys, max_leaves: int):
    """`scalars` nested in lists and mappings of up to `size` entries; mapping keys are short text or one of `keys`,
    or (in small mappings) drawn from `odd_keys`."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=size),
            st.dictionaries(st.one_of(st.text(max_size=key_size), st.sampled_from(keys)), inner, max_size=size),
            st.dictionaries(odd_keys, inner, max_size=2),
        ),
        max_leaves=max_leaves,
    )
