"""Ring lineage: ids kept across runs, statuses, previous_ids, churn counts, gone rings."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.errors import ConfigError, SchemaError
from syndicate.graphs.communities import ring_id_for
from syndicate.lineage import LINEAGE_SCHEMA, RING_STATUSES, Lineage, track_rings

SCHEMA = {"seller_id": pl.String, "ring_id": pl.String}


def membership(rings: Mapping[str, str]) -> pl.DataFrame:
    """A labels table from ``{ring_id: "seller seller ..."}``."""
    rows = [(seller, ring) for ring, sellers in rings.items() for seller in sellers.split()]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def by_provisional(lineage: Lineage) -> dict[str, dict[str, object]]:
    """One dict per current ring, keyed by the id it was found under."""
    return {row["provisional_id"]: row for row in lineage.rings.iter_rows(named=True)}


def ring(lineage: Lineage, provisional: str) -> tuple[object, ...]:
    """(ring_id, status, previous_ids, members_joined, members_left) of one current ring."""
    row = by_provisional(lineage)[provisional]
    return (
        row["ring_id"],
        row["status"],
        row["previous_ids"],
        row["members_joined"],
        row["members_left"],
    )


def gone(lineage: Lineage) -> list[tuple[str, int, int]]:
    return list(lineage.gone.iter_rows())


# ---------------------------------------------------------------------------------------
# Output shape


def test_output_columns_and_dtypes() -> None:
    lineage = track_rings(membership({"A": "a b c"}), membership({"old": "a b c"}))
    assert lineage.rings.schema == pl.Schema(
        {
            "provisional_id": pl.String,
            "ring_id": pl.String,
            **{name: dtype for name, (dtype, _) in LINEAGE_SCHEMA.items()},
        }
    )
    assert lineage.gone.schema == pl.Schema(
        {"ring_id": pl.String, "size": pl.Int64, "members_in_rings": pl.Int64}
    )


# ---------------------------------------------------------------------------------------
# First run


def test_first_run_every_ring_is_new_under_the_hash_of_its_smallest_member() -> None:
    # No earlier run: nothing to link to. Ids are ring_id_for(smallest member) whatever the
    # provisional id ("X" -> s1, "Y" -> s5; string order, so "s10" < "s5"), every member
    # joined, nobody left.
    current = membership({"X": "s3 s1 s2", "Y": "s9 s5 s10 s7"})
    lineage = track_rings(current, None)
    assert ring(lineage, "X") == (ring_id_for("s1"), "new", [], 3, 0)
    assert ring(lineage, "Y") == (ring_id_for("s10"), "new", [], 4, 0)
    assert lineage.gone.height == 0
    assert lineage.counts() == {**dict.fromkeys(RING_STATUSES, 0), "new": 2, "gone": 0}
    assert lineage.id_map() == {"X": ring_id_for("s1"), "Y": ring_id_for("s10")}


def test_first_run_keeps_ids_that_were_already_hashes_of_the_smallest_member() -> None:
    # As find_rings names them: the id does not change.
    ids = {ring_id_for("a"): "a b c", ring_id_for("d"): "d e f g"}
    lineage = track_rings(membership(ids), None)
    assert lineage.id_map() == {name: name for name in ids}


def test_first_run_on_no_rings_is_empty() -> None:
    lineage = track_rings(membership({}), None)
    assert lineage.rings.height == 0
    assert lineage.gone.height == 0
    assert lineage.counts() == {**dict.fromkeys(RING_STATUSES, 0), "gone": 0}


# ---------------------------------------------------------------------------------------
# Kept ids: stable, grown, shrunk


def test_identical_run_keeps_every_earlier_id_as_stable() -> None:
    # Same member sets, provisional ids unrelated to the earlier ones: J = 1 for each
    # matching pair and 0 for the others, so each ring keeps its earlier ring's id.
    previous = membership({"old-x": "a b c", "old-y": "d e f g", "old-z": "h i"})
    current = membership({"r1": "g f e d", "r2": "b c a", "r3": "i h"})
    lineage = track_rings(current, previous)
    assert ring(lineage, "r1") == ("old-y", "stable", ["old-y"], 0, 0)
    assert ring(lineage, "r2") == ("old-x", "stable", ["old-x"], 0, 0)
    assert ring(lineage, "r3") == ("old-z", "stable", ["old-z"], 0, 0)
    assert lineage.gone.height == 0
    assert lineage.counts()["stable"] == 3


def test_grown_ring_keeps_its_id() -> None:
    # k = 4, |c ∪ p| = 6, J = 0.67: kept; 6 > 4 members -> grown; e, f joined.
    lineage = track_rings(membership({"A": "a b c d e f"}), membership({"old": "a b c d"}))
    assert ring(lineage, "A") == ("old", "grown", ["old"], 2, 0)


def test_shrunk_ring_keeps_its_id() -> None:
    # k = 4, J = 4/6: kept; 4 < 6 -> shrunk; e, f left.
    lineage = track_rings(membership({"A": "a b c d"}), membership({"old": "a b c d e f"}))
    assert ring(lineage, "A") == ("old", "shrunk", ["old"], 0, 2)


def test_same_size_with_one_member_swapped_is_stable() -> None:
    # Status compares sizes only: d left, e joined, 4 == 4 -> stable. J = 3/5.
    lineage = track_rings(membership({"A": "a b c e"}), membership({"old": "a b c d"}))
    assert ring(lineage, "A") == ("old", "stable", ["old"], 1, 1)


def test_null_ring_ids_are_ignored_in_both_tables() -> None:
    # x and y are in no ring in either run: without them it is the identical case.
    previous = pl.DataFrame(
        {"seller_id": ["a", "b", "c", "x"], "ring_id": ["old", "old", "old", None]}
    )
    current = pl.DataFrame({"seller_id": ["a", "b", "c", "y"], "ring_id": ["A", "A", "A", None]})
    lineage = track_rings(current, previous)
    assert lineage.rings.height == 1
    assert ring(lineage, "A") == ("old", "stable", ["old"], 0, 0)


# ---------------------------------------------------------------------------------------
# Merges


def test_two_way_merge_keeps_the_largest_contributors_id() -> None:
    # old-z (5) and old-a (2) merged into one ring of 7. k = 5, J = 5/7 with old-z; k = 2,
    # J = 2/7 = 0.29 < 0.3 with old-a, linked anyway (all of old-a went in). The largest k
    # wins the id, although "old-a" sorts first; previous_ids: kept id, then old-a.
    previous = membership({"old-z": "a b c d e", "old-a": "f g"})
    lineage = track_rings(membership({"M": "a b c d e f g"}), previous)
    assert ring(lineage, "M") == ("old-z", "merged", ["old-z", "old-a"], 0, 0)
    assert lineage.gone.height == 0


def test_equal_merge_ties_go_to_the_smaller_earlier_id() -> None:
    # Two rings of 3 merged: k = 3 and J = 0.5 for both, so the earlier id decides: "old-a"
    # < "old-b", although the merged ring's smallest member "a" came from old-b.
    previous = membership({"old-b": "a b c", "old-a": "d e f"})
    lineage = track_rings(membership({"M": "a b c d e f"}), previous)
    assert ring(lineage, "M") == ("old-a", "merged", ["old-a", "old-b"], 0, 0)


def test_equal_shared_counts_tie_on_jaccard_before_the_id() -> None:
    # k = 3 with both; J = 3/9 with old-a (6 members), 3/6 with old-b (3 members): old-b
    # keeps its id although "old-a" sorts first. old-a is still linked (J = 0.33 >= 0.3).
    previous = membership({"old-a": "a b c x1 x2 x3", "old-b": "d e f"})
    lineage = track_rings(membership({"M": "a b c d e f"}), previous)
    assert ring(lineage, "M") == ("old-b", "merged", ["old-b", "old-a"], 0, 0)
    assert lineage.gone.height == 0


def test_three_way_merge_below_min_jaccard_keeps_the_largest_contributors_id() -> None:
    # 4 + 3 + 2 members merged into 9: J = 4/9, 3/9, 2/9, all < 0.5. Each link is absorbed
    # (k >= 2 and 2k >= |p|: all of each earlier ring went in), and M has three absorbed
    # links, so it is a merge and every link may pass its id. Greedy by k: old-c (k = 4)
    # keeps its id although "old-a" sorts first; merged; previous_ids: kept id, then by k
    # (3, 2), not by id. Nobody joined (all came from linked rings), nobody left old-c.
    previous = membership({"old-c": "a b c d", "old-b": "e f g", "old-a": "h i"})
    lineage = track_rings(membership({"M": "a b c d e f g h i"}), previous, min_jaccard=0.5)
    assert ring(lineage, "M") == ("old-c", "merged", ["old-c", "old-b", "old-a"], 0, 0)
    assert lineage.gone.height == 0
    assert lineage.counts() == {**dict.fromkeys(RING_STATUSES, 0), "merged": 1, "gone": 0}


def test_one_earlier_ring_absorbed_into_a_mostly_new_ring_is_no_merge_and_keeps_no_id() -> None:
    # old-q (3) went whole into N (11): k = 3, J = 3/11 = 0.27 < 0.3, absorbed (2k >= |p|),
    # but N has only this one absorbed link: old-r shares just n1 with N (k = 1, no link).
    # So N is no merge, and old-q is linked to N alone, so no split: the id is not kept.
    # Fresh id from "a"; new, previous_ids still names old-q; joined: the 8 not in old-q.
    # old-r is gone, 1 member (n1) still in a ring.
    previous = membership({"old-q": "a b c", "old-r": "n1 r1 r2 r3"})
    current = membership({"N": "a b c n1 n2 n3 n4 n5 n6 n7 n8"})
    lineage = track_rings(current, previous)
    assert ring(lineage, "N") == (ring_id_for("a"), "new", ["old-q"], 8, 0)
    assert gone(lineage) == [("old-r", 4, 1)]
    assert lineage.counts() == {**dict.fromkeys(RING_STATUSES, 0), "new": 1, "gone": 1}


@pytest.mark.parametrize(
    ("min_jaccard", "expected"),
    [
        # J = 3/10 = 0.3 exactly: the boundary keeps the id; 10 > 3 -> grown.
        pytest.param(0.3, ("old-q", "grown", ["old-q"], 7, 0), id="J-equals-threshold"),
        # J < 0.31: fresh id; linked because all of old-q went in, and old-q is linked to no
        # other ring (nothing merged, nothing split) -> new, previous_ids still names old-q.
        pytest.param(0.31, (ring_id_for("a"), "new", ["old-q"], 7, 0), id="J-below-threshold"),
    ],
)
def test_earlier_ring_inside_a_mostly_new_ring(
    min_jaccard: float, expected: tuple[object, ...]
) -> None:
    previous = membership({"old-q": "a b c"})
    current = membership({"N": "a b c n1 n2 n3 n4 n5 n6 n7"})
    lineage = track_rings(current, previous, min_jaccard=min_jaccard)
    assert ring(lineage, "N") == expected


def test_merge_with_newcomers_and_a_leaver_counts_churn() -> None:
    # C1 = {a b c e f x}: with old-p (a b c d) k = 3, J = 3/7; with old-q (e f) k = 2,
    # J = 2/6. C1 keeps old-p (larger k), is linked to old-q too -> merged; joined: x (in
    # neither linked ring) = 1; left: d (of old-p, not in C1) = 1.
    # C2 = {d y z}: k = 1 with old-p, J = 1/6, not linked -> new, id from "d", joined 3.
    previous = membership({"old-p": "a b c d", "old-q": "e f"})
    current = membership({"C1": "a b c e f x", "C2": "d y z"})
    lineage = track_rings(current, previous)
    assert ring(lineage, "C1") == ("old-p", "merged", ["old-p", "old-q"], 1, 1)
    assert ring(lineage, "C2") == (ring_id_for("d"), "new", [], 3, 0)
    assert lineage.counts() == {
        **dict.fromkeys(RING_STATUSES, 0),
        "merged": 1,
        "new": 1,
        "gone": 0,
    }
    assert lineage.id_map() == {"C1": "old-p", "C2": ring_id_for("d")}


# ---------------------------------------------------------------------------------------
# Splits


def test_split_largest_part_keeps_the_id_other_part_is_split() -> None:
    # old-p (7) fell apart into {a b c} and {d e f g}. k = 4, J = 4/7 wins the id -> shrunk,
    # a b c left. {a b c}: J = 3/7 >= 0.3 but the id is taken; its one link is the ring
    # all its members came from -> split, fresh id from "a".
    previous = membership({"old-p": "a b c d e f g"})
    lineage = track_rings(membership({"S1": "a b c", "S2": "d e f g"}), previous)
    assert ring(lineage, "S2") == ("old-p", "shrunk", ["old-p"], 0, 3)
    assert ring(lineage, "S1") == (ring_id_for("a"), "split", ["old-p"], 0, 0)
    assert lineage.counts()["split"] == 1


def test_equal_split_ties_go_to_the_part_with_the_smallest_member() -> None:
    # k = 3, J = 0.5 for both parts and the same earlier id: the part holding "a" keeps it,
    # whatever the provisional ids say ("zzz" > "aaa").
    previous = membership({"old-p": "a b c d e f"})
    lineage = track_rings(membership({"aaa": "d e f", "zzz": "a b c"}), previous)
    assert ring(lineage, "zzz") == ("old-p", "shrunk", ["old-p"], 0, 3)
    assert ring(lineage, "aaa") == (ring_id_for("d"), "split", ["old-p"], 0, 0)


def test_three_way_split_below_min_jaccard_keeps_the_id_on_the_smallest_members_part() -> None:
    # old-p (9) -> three parts of 3: k = 3, J = 3/9 < 0.5 for each. Each link is a fragment
    # (k >= 2 and 2k >= |c|: all its members came from old-p), and old-p has three fragment
    # links, so it is a split and each part may take the id. The links tie on k (3), J
    # (1/3) and the earlier id (old-p), so the part with the smallest smallest member, "a",
    # keeps it, whatever the provisional ids say ("zz" > "mm" > "aa"): 3 < 9 -> shrunk, 6
    # left. The other two get fresh ids (from "d", "g"); each has one link, old-p, which is
    # linked to the other parts too -> split. old-p is not gone.
    previous = membership({"old-p": "a b c d e f g h i"})
    current = membership({"zz": "a b c", "mm": "d e f", "aa": "g h i"})
    lineage = track_rings(current, previous, min_jaccard=0.5)
    assert ring(lineage, "zz") == ("old-p", "shrunk", ["old-p"], 0, 6)
    assert ring(lineage, "mm") == (ring_id_for("d"), "split", ["old-p"], 0, 0)
    assert ring(lineage, "aa") == (ring_id_for("g"), "split", ["old-p"], 0, 0)
    assert lineage.gone.height == 0
    assert lineage.counts() == {
        **dict.fromkeys(RING_STATUSES, 0),
        "shrunk": 1,
        "split": 2,
        "gone": 0,
    }


def test_small_fragment_below_min_jaccard_is_still_a_split() -> None:
    # old-p (10) -> {a..h} (J = 0.8, keeps the id, shrunk) and {i j}: J = 2/10 < 0.3, but
    # both its members came from old-p (k = 2 >= 2, 2k >= |c|) -> linked, split.
    previous = membership({"old-p": "a b c d e f g h i j"})
    current = membership({"big": "a b c d e f g h", "frag": "i j"})
    lineage = track_rings(current, previous)
    assert ring(lineage, "big") == ("old-p", "shrunk", ["old-p"], 0, 2)
    assert ring(lineage, "frag") == (ring_id_for("i"), "split", ["old-p"], 0, 0)


def test_exactly_half_of_an_earlier_ring_links() -> None:
    # old-p = {a b c d}. A = {a b n1..n5}: k = 2, J = 2/9 < 0.3, 2k = 4 >= |p| = 4 -> linked
    # (half of old-p went in), although 2k < |A| = 7. B = {c d}: k = 2 too, J = 2/4 wins
    # the id; 2 < 4 -> shrunk, a and b left. old-p is linked to both A and B, so A (fresh
    # id from "a", one link) is a part of old-p that did not keep the id -> split.
    previous = membership({"old-p": "a b c d"})
    current = membership({"A": "a b n1 n2 n3 n4 n5", "B": "c d"})
    lineage = track_rings(current, previous)
    assert ring(lineage, "A") == (ring_id_for("a"), "split", ["old-p"], 5, 0)
    assert ring(lineage, "B") == ("old-p", "shrunk", ["old-p"], 0, 2)


def test_half_of_an_earlier_ring_whose_other_half_is_in_no_ring_is_new() -> None:
    # A as above, but c and d are in no ring now: old-p (4) is linked to A alone (k = 2,
    # 2k >= |p|; J = 2/9 < 0.3, fresh id from "a"). One link, and old-p links nowhere else
    # -> new, previous_ids still names old-p, which is therefore not gone. old-q is
    # unrelated (stable) and does not count as another part of old-p.
    previous = membership({"old-p": "a b c d", "old-q": "x1 x2 x3"})
    current = membership({"A": "a b n1 n2 n3 n4 n5", "Q": "x1 x2 x3"})
    lineage = track_rings(current, previous)
    assert ring(lineage, "A") == (ring_id_for("a"), "new", ["old-p"], 5, 0)
    assert ring(lineage, "Q") == ("old-q", "stable", ["old-q"], 0, 0)
    assert lineage.gone.height == 0
    assert lineage.counts() == {
        **dict.fromkeys(RING_STATUSES, 0),
        "new": 1,
        "stable": 1,
        "gone": 0,
    }


def test_exactly_half_of_a_current_ring_from_an_earlier_ring_links() -> None:
    # old-p = {a..j}. A = {a..h} keeps the id (J = 0.8). B = {i j y z}: k = 2, J = 2/12,
    # 2k < |p| but 2k = 4 >= |B| = 4 -> linked, half its members came from old-p -> split.
    previous = membership({"old-p": "a b c d e f g h i j"})
    current = membership({"A": "a b c d e f g h", "B": "i j y z"})
    lineage = track_rings(current, previous)
    assert ring(lineage, "A") == ("old-p", "shrunk", ["old-p"], 0, 2)
    assert ring(lineage, "B") == (ring_id_for("i"), "split", ["old-p"], 2, 0)


def test_a_single_shared_seller_is_no_link() -> None:
    # {e x y} shares only e with old-p: J = 1/7 and k = 1 < 2 -> new, all 3 joined.
    previous = membership({"old-p": "a b c d e"})
    lineage = track_rings(membership({"A": "a b c d", "B": "e x y"}), previous)
    assert ring(lineage, "A") == ("old-p", "shrunk", ["old-p"], 0, 1)
    assert ring(lineage, "B") == (ring_id_for("e"), "new", [], 3, 0)


# ---------------------------------------------------------------------------------------
# New and gone rings


def test_too_little_overlap_is_new_and_the_earlier_ring_is_gone() -> None:
    # N = {v1 n1 n2 n3} shares only v1 with old-v (4): not linked -> new, old-v gone with 1
    # member still in a ring. old-w's members are in no ring now: gone, 0 in rings.
    previous = membership({"old-v": "v1 v2 v3 v4", "old-w": "w1 w2 w3"})
    lineage = track_rings(membership({"N": "v1 n1 n2 n3"}), previous)
    assert ring(lineage, "N") == (ring_id_for("n1"), "new", [], 4, 0)
    assert gone(lineage) == [("old-v", 4, 1), ("old-w", 3, 0)]
    assert lineage.counts() == {**dict.fromkeys(RING_STATUSES, 0), "new": 1, "gone": 2}


def test_no_current_rings_means_every_earlier_ring_is_gone() -> None:
    lineage = track_rings(membership({}), membership({"old-a": "a b", "old-b": "c d e"}))
    assert lineage.rings.height == 0
    assert gone(lineage) == [("old-a", 2, 0), ("old-b", 3, 0)]


def test_min_jaccard_one_keeps_only_identical_rings() -> None:
    # Same members -> J = 1 -> stable. {d..j} vs old-y {d e f}: J = 3/7 < 1, fresh id; all
    # of old-y went in (linked), and old-y is linked to no other ring -> new, with
    # previous_ids ["old-y"].
    previous = membership({"old-x": "a b c", "old-y": "d e f"})
    current = membership({"A": "a b c", "B": "d e f g h i j"})
    lineage = track_rings(current, previous, min_jaccard=1)
    assert ring(lineage, "A") == ("old-x", "stable", ["old-x"], 0, 0)
    assert ring(lineage, "B") == (ring_id_for("d"), "new", ["old-y"], 4, 0)


def test_ring_mostly_from_one_earlier_ring_that_kept_no_id_is_new() -> None:
    # A ring with a fresh id whose one link is an earlier ring most of its members came
    # from is not "split" when no other ring is linked to that earlier ring: it is "new".
    # {d e f g} vs old-y {d e f}: J = 3/4 < 1, fresh id; 3 of its 4 members from old-y.
    previous = membership({"old-y": "d e f"})
    lineage = track_rings(membership({"B": "d e f g"}), previous, min_jaccard=1)
    assert ring(lineage, "B") == (ring_id_for("d"), "new", ["old-y"], 1, 0)
    assert lineage.gone.height == 0


# ---------------------------------------------------------------------------------------
# Fresh ids never collide


def test_split_part_does_not_reuse_the_id_its_smallest_member_gave_the_other_part() -> None:
    # old ring named as a real run names it: ring_id_for("a"). {d e f g} keeps it (k = 4).
    # {a b c} would get ring_id_for("a") too, which is taken -> ring_id_for("a#1").
    previous = membership({ring_id_for("a"): "a b c d e f g"})
    lineage = track_rings(membership({"S1": "a b c", "S2": "d e f g"}), previous)
    assert ring(lineage, "S2") == (ring_id_for("a"), "shrunk", [ring_id_for("a")], 0, 3)
    assert ring(lineage, "S1") == (ring_id_for("a#1"), "split", [ring_id_for("a")], 0, 0)


def test_fresh_id_skips_every_taken_suffix() -> None:
    # As above, and a gone earlier ring already holds ring_id_for("a#1") -> "a#2".
    previous = membership({ring_id_for("a"): "a b c d e f g", ring_id_for("a#1"): "z1 z2"})
    lineage = track_rings(membership({"S1": "a b c", "S2": "d e f g"}), previous)
    assert lineage.id_map() == {"S1": ring_id_for("a#2"), "S2": ring_id_for("a")}
    assert gone(lineage) == [(ring_id_for("a#1"), 2, 0)]


def test_new_ring_does_not_take_the_id_of_a_gone_ring() -> None:
    # old ring ring_id_for("v1") is gone (only v1 is in a ring now, not linked); the new
    # ring's smallest member is v1 as well, but an earlier ring's id is never reused.
    previous = membership({ring_id_for("v1"): "v1 v2 v3"})
    lineage = track_rings(membership({"N": "v1 x y"}), previous)
    assert ring(lineage, "N") == (ring_id_for("v1#1"), "new", [], 3, 0)
    assert gone(lineage) == [(ring_id_for("v1"), 3, 1)]


# ---------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("min_jaccard", [0, 0.0, -0.1, 1.5, math.nan])
def test_min_jaccard_out_of_range_is_a_config_error(min_jaccard: float) -> None:
    with pytest.raises(ConfigError, match=r"min_jaccard must be in \(0, 1\]"):
        track_rings(membership({"A": "a b"}), None, min_jaccard=min_jaccard)


@pytest.mark.parametrize(
    ("current", "previous", "message"),
    [
        pytest.param(
            pl.DataFrame({"seller_id": ["a"]}),
            None,
            r"current ring membership lacks columns \['ring_id'\]",
            id="current-ring_id",
        ),
        pytest.param(
            membership({"A": "a b"}),
            pl.DataFrame({"seller": ["a"], "ring_id": ["old"]}),
            r"previous ring membership lacks columns \['seller_id'\]",
            id="previous-seller_id",
        ),
        pytest.param(
            membership({"A": "a b"}),
            pl.DataFrame({"x": [1]}),
            r"previous ring membership lacks columns \['seller_id', 'ring_id'\]",
            id="previous-both",
        ),
    ],
)
def test_missing_columns_are_a_schema_error(
    current: pl.DataFrame, previous: pl.DataFrame | None, message: str
) -> None:
    # SchemaError is an InputError: the command line exits with status 2.
    with pytest.raises(SchemaError, match=message):
        track_rings(current, previous)


# ---------------------------------------------------------------------------------------
# Properties

SELLERS = [f"s{i:02d}" for i in range(12)]
# Each seller's ring label (None: in no ring); labels 0..4 become ids below.
labels_strategy = st.lists(
    st.one_of(st.none(), st.integers(0, 4)), min_size=len(SELLERS), max_size=len(SELLERS)
)
jaccard_strategy = st.sampled_from([0.1, 0.3, 0.5, 0.75, 1.0])


@st.composite
def related_labels(draw: st.DrawFn) -> tuple[list[int | None], list[int | None]]:
    """Two runs' labels with shared structure, so merges and splits are common: each run
    relabels one base partition by its own random map of labels, seldom one-to-one (base
    rings merge in one run and not in the other), then about a quarter of the sellers move
    to a random ring or to none."""
    base = draw(labels_strategy)
    runs = []
    for _ in range(2):
        coarsen = draw(st.lists(st.integers(0, 4), min_size=5, max_size=5))
        elsewhere = draw(labels_strategy)
        moved = draw(
            st.lists(
                st.sampled_from([False, False, False, True]),
                min_size=len(SELLERS),
                max_size=len(SELLERS),
            )
        )
        runs.append(
            [
                other if move else None if label is None else coarsen[label]
                for label, other, move in zip(base, elsewhere, moved, strict=True)
            ]
        )
    return runs[0], runs[1]


runs_strategy = st.one_of(st.tuples(labels_strategy, labels_strategy), related_labels())


def groups(labels: Sequence[int | None]) -> dict[int, frozenset[str]]:
    out: dict[int, set[str]] = {}
    for seller, label in zip(SELLERS, labels, strict=True):
        if label is not None:
            out.setdefault(label, set()).add(seller)
    return {label: frozenset(members) for label, members in out.items()}


def frame(named: Mapping[str, frozenset[str]], order: Sequence[int] | None = None) -> pl.DataFrame:
    rows = [(seller, name) for name, members in named.items() for seller in sorted(members)]
    if order is not None:
        rows = [rows[i % len(rows)] for i in order] if rows else []
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def earlier_names(previous: dict[int, frozenset[str]], real_ids: bool) -> dict[str, frozenset[str]]:
    """Earlier ids: either as a real run names them (hash of the smallest member, which makes
    fresh-id collisions likely) or arbitrary names."""
    if real_ids:
        return {ring_id_for(min(members)): members for members in previous.values()}
    return {f"old-{label}": members for label, members in previous.items()}


def final_sets(lineage: Lineage, current: Mapping[str, frozenset[str]]) -> dict[str, frozenset]:
    """Final ring id -> members."""
    return {final: current[provisional] for provisional, final in lineage.id_map().items()}


@settings(max_examples=60, deadline=None)
@given(
    now=labels_strategy,
    before=labels_strategy,
    real_ids=st.booleans(),
    min_jaccard=jaccard_strategy,
    data=st.data(),
)
def test_result_does_not_depend_on_row_order_duplicates_or_provisional_names(
    now: list[int | None],
    before: list[int | None],
    real_ids: bool,
    min_jaccard: float,
    data: st.DataObject,
) -> None:
    current = {f"c{label}": members for label, members in groups(now).items()}
    previous = earlier_names(groups(before), real_ids)
    expected = track_rings(frame(current), frame(previous), min_jaccard=min_jaccard)

    # Shuffled rows, some repeated; provisional ids renamed (even to earlier-looking ids).
    n_now = sum(map(len, current.values()))
    n_before = sum(map(len, previous.values()))
    order_now = data.draw(st.permutations(range(n_now + 3)))
    order_before = data.draw(st.permutations(range(n_before + 3)))
    pool = [*previous, *(f"q{i}" for i in range(len(current)))]
    new_names = data.draw(st.permutations(pool))[: len(current)]
    rename = dict(zip(current, new_names, strict=True))
    renamed = {rename[name]: members for name, members in current.items()}
    got = track_rings(
        frame(renamed, order_now), frame(previous, order_before), min_jaccard=min_jaccard
    )

    assert got.rings.drop("provisional_id").equals(expected.rings.drop("provisional_id"))
    assert got.gone.equals(expected.gone)
    assert got.id_map() == {rename[p]: final for p, final in expected.id_map().items()}


@settings(max_examples=150, deadline=None)
@given(runs=runs_strategy, real_ids=st.booleans(), min_jaccard=jaccard_strategy)
def test_ids_statuses_and_links_follow_the_documented_rules(
    runs: tuple[list[int | None], list[int | None]], real_ids: bool, min_jaccard: float
) -> None:
    now, before = runs
    current = {f"c{label}": members for label, members in groups(now).items()}
    previous = earlier_names(groups(before), real_ids)
    lineage = track_rings(frame(current), frame(previous), min_jaccard=min_jaccard)

    def shared(c: frozenset[str], p: frozenset[str]) -> int:
        return len(c & p)

    def jaccard(c: frozenset[str], p: frozenset[str]) -> float:
        return len(c & p) / len(c | p)

    def absorbed(c: frozenset[str], p: frozenset[str]) -> bool:
        """Most (at least half, and at least two) of p went into c."""
        return shared(c, p) >= 2 and 2 * shared(c, p) >= len(p)

    def fragment(c: frozenset[str], p: frozenset[str]) -> bool:
        """Most (at least half, and at least two) of c came from p."""
        return shared(c, p) >= 2 and 2 * shared(c, p) >= len(c)

    def linked(c: frozenset[str], p: frozenset[str]) -> bool:
        return jaccard(c, p) >= min_jaccard or absorbed(c, p) or fragment(c, p)

    def can_keep(c: frozenset[str], p: frozenset[str]) -> bool:
        """p's id may pass to c: similar enough, or c is a merge, or p split."""
        merge = absorbed(c, p) and sum(absorbed(c, q) for q in previous.values()) >= 2
        split = fragment(c, p) and sum(fragment(d, p) for d in current.values()) >= 2
        return jaccard(c, p) >= min_jaccard or merge or split

    # How many current rings each earlier ring is linked to.
    children = {
        p: sum(linked(c, members) for c in current.values()) for p, members in previous.items()
    }

    # The ids kept, by the documented greedy: keepable links from the largest k down, ties
    # by larger J, then the earlier id, then the current ring's smallest member; each id
    # and each current ring at most once.
    keepable = sorted(
        ((c, p) for c in current for p in previous if can_keep(current[c], previous[p])),
        key=lambda cp: (
            -shared(current[cp[0]], previous[cp[1]]),
            -jaccard(current[cp[0]], previous[cp[1]]),
            cp[1],
            min(current[cp[0]]),
        ),
    )
    expected_kept: dict[str, str] = {}
    for c, p in keepable:
        if c not in expected_kept and p not in expected_kept.values():
            expected_kept[c] = p

    rows = by_provisional(lineage)
    assert set(rows) == set(current)
    finals = [row["ring_id"] for row in rows.values()]
    assert len(finals) == len(set(finals)), "final ids are unique"

    listed: set[str] = set()
    for provisional, row in rows.items():
        c = current[provisional]
        links = {p for p, members in previous.items() if linked(c, members)}
        ids = row["previous_ids"]
        assert len(ids) == len(set(ids))
        assert set(ids) == links
        listed |= links
        kept = row["ring_id"] if row["ring_id"] in previous else None
        rest = [p for p in ids if p != kept]
        assert rest == sorted(rest, key=lambda p: (-shared(c, previous[p]), p))
        joined = c - frozenset().union(*(previous[p] for p in links))
        assert row["members_joined"] == len(joined)
        assert kept == expected_kept.get(provisional)
        if kept is not None:
            p = previous[kept]
            assert ids[0] == kept
            assert can_keep(c, p)
            assert row["members_left"] == len(p - c)
            by_size = "grown" if len(c) > len(p) else "shrunk" if len(c) < len(p) else "stable"
            assert row["status"] == ("merged" if len(ids) >= 2 else by_size)
        else:
            assert row["ring_id"].startswith("ring-")
            assert row["members_left"] == 0
            if len(links) >= 2:
                assert row["status"] == "merged"
            elif len(links) == 1 and children[next(iter(links))] >= 2:
                assert row["status"] == "split"
            else:
                assert row["status"] == "new"
            # An id is only lost along a keepable link when another ring took it.
            for p in ids:
                if can_keep(c, previous[p]):
                    assert p in finals

    # Every earlier ring is linked to some ring or gone, never both.
    in_rings = frozenset().union(*current.values())
    assert gone(lineage) == [
        (p, len(members), len(members & in_rings))
        for p, members in sorted(previous.items())
        if p not in listed
    ]
    assert sum(lineage.counts().values()) == len(current) + len(previous) - len(listed)


@settings(max_examples=60, deadline=None)
@given(labels=labels_strategy, real_ids=st.booleans(), data=st.data())
def test_same_rings_under_other_ids_are_all_stable(
    labels: list[int | None], real_ids: bool, data: st.DataObject
) -> None:
    previous = earlier_names(groups(labels), real_ids)
    names = data.draw(st.permutations([f"p{i}" for i in range(len(previous))]))
    current = dict(zip(names, previous.values(), strict=True))
    lineage = track_rings(frame(current), frame(previous))
    assert final_sets(lineage, current) == previous
    assert set(lineage.rings["status"]) <= {"stable"}
    assert lineage.rings["previous_ids"].to_list() == [[p] for p in lineage.rings["ring_id"]]
    assert lineage.rings["members_joined"].sum() == 0
    assert lineage.rings["members_left"].sum() == 0
    assert lineage.gone.height == 0


@settings(max_examples=40, deadline=None)
@given(labels=labels_strategy)
def test_first_run_ids_are_hashes_of_smallest_members(labels: list[int | None]) -> None:
    current = {f"c{label}": members for label, members in groups(labels).items()}
    lineage = track_rings(frame(current), None)
    assert lineage.id_map() == {name: ring_id_for(min(m)) for name, m in current.items()}
    assert set(lineage.rings["status"]) <= {"new"}
    assert lineage.rings["members_joined"].to_list() == [
        len(final_sets(lineage, current)[final]) for final in lineage.rings["ring_id"]
    ]
    assert lineage.gone.height == 0
