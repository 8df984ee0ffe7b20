"""The example strategies file ``syndicate demo`` ships, runs and backtests."""

from __future__ import annotations

__all__ = ["EXAMPLE_STRATEGIES"]

#: Three strategies on the demo's marketplace: a precise shadow rule the model already
#: covers, a ring rule and a tabular rule that looks perfect on the known labels but is
#: 54% precise against the truth (see the README's backtest section).
EXAMPLE_STRATEGIES = """\
# Strategies of the demo: syndicate run --strategies reads this file (see the README).

[[strategy]]
name = "payout-bad-neighbour"
when = "linked_by_payout >= 2 AND nbr1_known_bad >= 1"
action = "syndicate"
status = "shadow"
description = "shares a payout account with two sellers, one of them known bad"
owner = "payments-risk"

[[strategy]]
name = "fast-ring"
when = "ring_size >= 5 AND ring_onboarding_spread_days <= 2 AND ring_known_bad >= 1"
action = "review"
scope = "ring"
description = "a ring of five or more that onboarded within two days, with a known-bad member"
owner = "ring-response"

[[strategy]]
name = "high-returns"
when = "return_rate > 0.3 AND orders_30d >= 5"
action = "review"
description = "many returns on real volume"
owner = "trust-ops"
"""
