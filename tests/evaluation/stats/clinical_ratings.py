"""A small hand-checked set of clinician ratings shared by the clinician-study statistics tests."""

from evaluation.stats.ratings import Rating

CLINICAL = [
    # item i1: A, A, B      item i2: B, B, B      item i3: tie, A, (missing)
    # item i4: A only       item i5: A, B
    Rating("c1", "i1", "overall", "A"),
    Rating("c2", "i1", "overall", "A"),
    Rating("c3", "i1", "overall", "B"),
    Rating("c1", "i2", "overall", "B"),
    Rating("c2", "i2", "overall", "B"),
    Rating("c3", "i2", "overall", "B"),
    Rating("c1", "i3", "overall", "tie"),
    Rating("c2", "i3", "overall", "A"),
    Rating("c3", "i3", "overall", None),
    Rating("c1", "i4", "overall", "A"),
    Rating("c1", "i5", "overall", "A"),
    Rating("c2", "i5", "overall", "B"),
    Rating("c1", "i1", "safety", "tie"),
    Rating("c2", "i1", "safety", "tie"),
]
