"""Priority on receipt: the rules are explicit, in order, and say which one decided."""

from __future__ import annotations

import pytest

from torosdrivers.scheduling import assign_priority, rules_from_config

RULES = rules_from_config([
    {"Name": "transients", "When": {"Type of job": "Transient"}, "Priority": 9},
    {"Name": "galaxies", "When": {"Type of object": "Galaxy"}, "Priority": 4},
    {"Name": "guests", "When": {"User": "Guest"}, "Cap": 6},
    {"Name": "everyone", "Cap": 9.5},
])


@pytest.mark.parametrize("order, priority, why", [
    ({"Type of job": "transient"}, 9.0, "rule 'transients' set 9"),  # values match case-insensitively
    ({"Type of job": "Research", "Type of object": "Galaxy"}, 4.0, "rule 'galaxies' set 4"),
    ({"Type of job": "Transient", "Type of object": "Galaxy"}, 9.0, "rule 'transients' set 9"),  # first wins
    ({"Type of job": "Research"}, 5.0, "default 5"),
    ({"Priority": 10}, 9.5, "asked for 10; capped at 9.5 by rule 'everyone'"),
    ({"Priority": 1.3, "User": "Guest"}, 1.3, "asked for 1.3"),
    ({"Type of job": "Transient", "User": "guest"}, 6.0, "rule 'transients' set 9; capped at 6 by rule 'guests'"),
    ({"Probability": 0.42}, 4.2, "probability 0.42 x 10"),
    ({"Probability": 0.99, "User": "Guest"}, 6.0, "probability 0.99 x 10; capped at 6 by rule 'guests'"),
])
def test_rules_decide_in_order_and_say_which(order, priority, why):
    assigned = assign_priority(order, RULES)
    assert assigned.priority == pytest.approx(priority) and assigned.why == why


@pytest.mark.parametrize("entries, message", [
    ([{"Name": "x", "When": {"User": "a"}}], r"Priority Rules\[0\]: give a Priority, a Cap or both"),
    ([{"Name": "x", "Priority": 11}], r"Priority Rules\[0\].Priority: 11: expected a number from 0 to 10"),
    ([{"Name": "x", "Priority": 2}, {"Name": "y", "Prority": 2}], r"Priority Rules\[1\]: unknown key 'Prority'"),
    ([{"Name": "x", "When": ["User"], "Cap": 2}], r"Priority Rules\[0\].When: expected a mapping"),
    (["transients first"], r"Priority Rules\[0\]: expected a mapping"),
])
def test_bad_rules_are_named(entries, message):
    with pytest.raises(ValueError, match=message):
        rules_from_config(entries)
