#!/usr/bin/env python3
"""Draws simulated clinics at random, for checking the engine on worlds nobody designed.

Every family of simulator parameters is drawn: measurement cadence and noise, missingness,
the people's process maps, how wrong the catalogue is, per-person responses, habituation,
how much helpfulness ratings say, and follow-through. (The older docs/worlds/random_w*.toml
kept follow-through, habituation and rating mechanics at their defaults, and engine defaults
were swept on them; these were drawn after, and no default was chosen on them.)

    python3 scripts/draw-worlds.py --out docs/worlds            # fresh_w0.toml .. fresh_w5.toml
    tutti simulate --scenario-file docs/worlds/fresh_w0.toml --policies engine,structured,map-oracle

Deterministic: world w is drawn from random.Random(seed + w). Standard library only.
"""

import argparse
import random
from pathlib import Path

HEADER = """# A simulated clinic drawn at random by scripts/draw-worlds.py (world {w}, seed {seed}),
# to check the engine on a world nobody designed, tuned nothing on. See
# docs/benchmarks.md, "Held-out worlds drawn afresh".
"""


def world(w: int, seed: int) -> str:
    r = random.Random(seed + w)

    def u(a: float, b: float) -> float:
        return round(r.uniform(a, b), 3)

    apw = r.choice([1, 2, 3, 7])
    # No more decisions than assessments a week (the simulator refuses it).
    dpw = min(r.choice([1, 1, 2]), apw)
    return f'''name = "fresh{w}"
description = "held-out world {w}"

[measurement]
assessments_per_week = {apw}
decisions_per_week = {dpw}
rating_noise_sd = {u(4, 14)}
post_ratings = {u(0, 1)}
minutes_known = {u(0, 1)}
outcomes = [
  {{ instrument = "wellbeing", every = 1, noise_sd = {u(6, 14)} }},
  {{ instrument = "phq9", every = {max(1, apw)}, noise_sd = 2.5 }},
]

[missing]
assessment_base = {u(0.05, 0.35)}
burden = {u(0.0, 0.3)}
feedback_not_done = {u(0.1, 0.5)}

[dynamics]
map_density = {u(0.15, 0.6)}
loading_sign_flip = {u(0.0, 0.25)}
loading_heterogeneity = {u(0.2, 1.0)}
population_loading_sd = {u(0.15, 0.5)}
network_heterogeneity = {u(0.3, 1.0)}

[response]
effect_prior_correlation = {u(0.0, 0.6)}
target_weight_error = {u(0.1, 0.5)}
hidden_target_share = {u(0.0, 0.4)}
heterogeneity_sd = {u(0.2, 0.9)}
family_share = {u(0.3, 0.9)}
null_share = {u(0.0, 0.25)}
backfire_share = {u(0.0, 0.15)}
backfire_size = {u(0.2, 1.0)}
habituation = {u(0.0, 0.8)}
habituation_half_life_weeks = {u(1.0, 4.0)}
helpfulness_per_point = {u(2.0, 10.0)}
helpfulness_noise_sd = {u(6.0, 20.0)}

[follow_through]
base = {u(0.03, 0.95)}
base_sd = {u(0.4, 1.2)}
effort_sensitivity = {u(0.2, 2.2)}
minutes_median = {u(6, 30)}
load_sensitivity = {u(0.2, 1.0)}
aid_bonus = {u(0.0, 0.8)}
aid_carryover = {u(0.0, 0.8)}
partly_share = {u(0.1, 0.4)}
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="directory the TOML files go to")
    ap.add_argument("--count", type=int, default=6, help="worlds to draw")
    ap.add_argument("--seed", type=int, default=1000, help="seed of the first world")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for w in range(args.count):
        path = args.out / f"fresh_w{w}.toml"
        path.write_text(HEADER.format(w=w, seed=args.seed) + world(w, args.seed))
        print(path)


if __name__ == "__main__":
    main()
