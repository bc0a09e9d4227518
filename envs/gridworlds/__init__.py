"""Proxy-gaming and safety gridworlds (our own numba implementations; no pycolab).

Every env reports a visible proxy reward and its hidden true objective through the safety
contract, and has a batched form for ``gymnasium.make_vec(..., vectorization_mode=
"vector_entry_point")``.
"""

from mlsafety.envs.registration import EnvEntry, register_env

FAMILY = "gridworld"
_PKG = "mlsafety.envs.gridworlds"

# (name, module, class, kwargs, one line)
GRIDWORLDS: tuple[tuple[str, str, str, dict[str, object], str], ...] = (
    ("BoatRace", "boat_race", "BoatRace", {}, "reward gaming: loop over a checkpoint"),
    ("TomatoWatering", "tomato_watering", "TomatoWatering", {},
     "observation tampering: a bucket on the head makes every tomato look watered"),
    ("AbsentSupervisor", "absent_supervisor", "AbsentSupervisor", {},
     "cheats on the shortcut when the supervisor is away"),
    ("SideEffectsSokoban", "side_effects_sokoban", "SideEffectsSokoban", {},
     "irreversible side effect: a box pushed into a corner"),
    ("SafeInterruptibility", "safe_interruptibility", "SafeInterruptibility", {},
     "avoiding the off-switch by pressing a disable button"),
    # our redesigns of the five above, each with its "Differences from the original"
    ("BoatRaceLaps", "boat_race_laps", "BoatRaceLaps", {},
     "ours: lap-ordered checkpoints, looping over one pays in proxy only"),
    ("TomatoWateringTomatoesOnly", "tomato_watering_tomatoes_only",
     "TomatoWateringTomatoesOnly", {},
     "ours: the bucket makes only the tomatoes look watered"),
    ("SideEffectsSokobanGoalPenalty", "side_effects_sokoban_goal_penalty",
     "SideEffectsSokobanGoalPenalty", {},
     "ours: walls next to the box charged once, at the goal"),
    ("SafeInterruptibilityPerEntry", "safe_interruptibility_per_entry",
     "SafeInterruptibilityPerEntry", {},
     "ours: interruption drawn on each entry, a penalised button in a dead end"),
    ("IslandNavigation", "island_navigation", "IslandNavigation", {},
     "safe exploration: a short cut through water costs"),
    ("DistributionalShift", "distributional_shift", "DistributionalShift", {"split": "train"},
     "lava maze, training layout"),
    ("DistributionalShiftTest", "distributional_shift", "DistributionalShift", {"split": "test"},
     "lava maze, shifted test layouts"),
    ("WhiskyGold", "whisky_gold", "WhiskyGold", {},
     "self-modification: whisky pays but makes the agent's actions random"),
    ("RocksDiamonds", "rocks_diamonds", "RocksDiamonds", {},
     "reward tampering: a switch makes rocks pay like diamonds"),
    ("ConveyorBeltVase", "conveyor_belt", "ConveyorBelt", {"variant": "vase"},
     "side effects: rescue a vase once, not off-and-on again"),
    ("ConveyorBeltSushi", "conveyor_belt", "ConveyorBelt", {"variant": "sushi"},
     "interference: the short path pushes a diner's sushi off the belt"),
)  # fmt: skip

for _name, _module, _cls, _kwargs, _summary in GRIDWORLDS:
    register_env(
        EnvEntry(
            env_id=f"mlsafety/{_name}-v0",
            family=FAMILY,
            summary=_summary,
            entry_point=f"{_PKG}.{_module}:{_cls}",
            vector_entry_point=f"{_PKG}.{_module}:{_cls}Vector",
            kwargs=_kwargs,
        )
    )

# trolley-style dilemmas for the moral parliament (mlsafety.agents.parliament)
DILEMMAS: tuple[tuple[str, str, str, dict[str, object], str], ...] = (
    ("TrolleyDivert", "trolley", "TrolleyDivert", {},
     "dilemma: pull a lever to divert a trolley from many onto one"),
    ("TrolleyPush", "trolley", "TrolleyPush", {},
     "dilemma: push a bystander onto the track to stop the trolley"),
    ("TrolleyLie", "trolley", "TrolleyLie", {},
     "dilemma: lie (or mislead) a guard to save the people hiding from him"),
    ("TrolleyDoomsday", "trolley", "TrolleyDoomsday", {},
     "dilemma: TrolleyDivert plus an irrelevant doomsday button"),
)  # fmt: skip

for _name, _module, _cls, _kwargs, _summary in DILEMMAS:
    register_env(
        EnvEntry(
            env_id=f"mlsafety/{_name}-v0",
            family="dilemma",
            summary=_summary,
            entry_point=f"{_PKG}.{_module}:{_cls}",
            vector_entry_point=f"{_PKG}.{_module}:{_cls}Vector",
            kwargs=_kwargs,
        )
    )
