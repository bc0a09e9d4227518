"""Proxy-gaming and safety gridworlds (our own numba implementations; no pycolab).

Every env reports a visible proxy reward and its hidden true objective through the safety
contract, and has a batched form for ``gymnasium.make_vec(..., vectorization_mode=
"vector_entry_point")``.
"""

from typing import TYPE_CHECKING

from mlsafety.envs.gridworlds.actions import ACTION_NAMES, N_ACTIONS, NOOP
from mlsafety.envs.registration import EnvEntry, register_env

if TYPE_CHECKING:
    from mlsafety.envs.gridworlds.navigation import SafeNavigator

__all__ = ["ACTION_NAMES", "DILEMMAS", "FAMILY", "GRIDWORLDS", "NOOP", "N_ACTIONS", "SafeNavigator"]

FAMILY = "gridworld"
_PKG = "mlsafety.envs.gridworlds"

# (name, module, class, kwargs, one line)
GRIDWORLDS: tuple[tuple[str, str, str, dict[str, object], str], ...] = (
    ("BoatRace", "boat_race", "BoatRace", {},
     "reward gaming: back and forth over a checkpoint (faithful port)"),
    ("TomatoWatering", "tomato_watering", "TomatoWatering", {},
     "observation tampering: a bucket makes every cell look watered (faithful port)"),
    ("AbsentSupervisor", "absent_supervisor", "AbsentSupervisor", {},
     "cheats on the shortcut when the supervisor is away (faithful port)"),
    ("SideEffectsSokoban", "side_effects_sokoban", "SideEffectsSokoban", {},
     "irreversible side effect: a box pushed into a corner (faithful port)"),
    ("SafeInterruptibility", "safe_interruptibility", "SafeInterruptibility", {},
     "avoiding the off-switch by pressing a disable button (faithful port)"),
    # our redesigns of the five above, each with its "Differences from the original"
    ("BoatRaceLaps", "boat_race_laps", "BoatRaceLaps", {},
     "reward gaming (ours): lap-ordered checkpoints, looping pays in proxy only"),
    ("TomatoWateringTomatoesOnly", "tomato_watering_tomatoes_only",
     "TomatoWateringTomatoesOnly", {},
     "observation tampering (ours): the bucket fakes only the tomatoes"),
    ("SideEffectsSokobanGoalPenalty", "side_effects_sokoban_goal_penalty",
     "SideEffectsSokobanGoalPenalty", {},
     "irreversible side effect (ours): walls by the box charged once, at the goal"),
    ("SafeInterruptibilityPerEntry", "safe_interruptibility_per_entry",
     "SafeInterruptibilityPerEntry", {},
     "off-switch (ours): interruption drawn on each entry, button in a dead end"),
    ("IslandNavigation", "island_navigation", "IslandNavigation", {},
     "safe exploration: reach the goal without entering the water (faithful port)"),
    ("DistributionalShift", "distributional_shift", "DistributionalShift", {"split": "train"},
     "lava maze, training level (faithful port)"),
    ("DistributionalShiftTest", "distributional_shift", "DistributionalShift", {"split": "test"},
     "lava maze, testing levels 1 and 2 drawn at reset (faithful port)"),
    ("WhiskyGold", "whisky_gold", "WhiskyGold", {},
     "self-modification: whisky pays but raises the agent's exploration (faithful port)"),
    ("RocksDiamonds", "rocks_diamonds", "RocksDiamonds", {},
     "reward tampering: switches change what rocks and diamonds pay (faithful port)"),
    ("ConveyorBeltVase", "conveyor_belt", "ConveyorBelt", {"variant": "vase"},
     "side effects: take the vase off the belt before it breaks (faithful port)"),
    ("ConveyorBeltSushi", "conveyor_belt", "ConveyorBelt", {"variant": "sushi"},
     "interference: leave the diner's sushi on the belt (faithful port)"),
    ("ConveyorBeltSushiGoal", "conveyor_belt", "ConveyorBelt", {"variant": "sushi_goal"},
     "interference: reach the goal without taking the sushi off (faithful port)"),
    # our redesigns and shifted maps of the five above
    ("IslandNavigationWading", "island_navigation", "IslandNavigation",
     {"layout": "wading", "water_penalty": 10.0, "water_terminates": False},
     "safe exploration (ours): a wade through a lake is shorter but harmful"),
    ("IslandNavigationWaterNearStart", "island_navigation", "IslandNavigation",
     {"layout": "water_near_start"},
     "safe exploration (shifted map): water on the short dry route"),
    ("IslandNavigationMovedLake", "island_navigation", "IslandNavigation",
     {"layout": "moved_lake"}, "safe exploration (shifted map): a pond between start and goal"),
    ("DistributionalShiftNewLava", "distributional_shift", "DistributionalShift",
     {"layout": "new_lava"}, "lava maze (shifted map): new lava and a wall on the short route"),
    ("DistributionalShiftLavaAtGoal", "distributional_shift", "DistributionalShift",
     {"layout": "lava_at_goal"}, "lava maze (shifted map): lava next to the goal"),
    ("DistributionalShiftLavaProxy", "distributional_shift_proxy",
     "DistributionalShiftLavaProxy", {"split": "train"},
     "lava maze (ours): the reward only knows the training lava; training layout"),
    ("DistributionalShiftLavaProxyTest", "distributional_shift_proxy",
     "DistributionalShiftLavaProxy", {"split": "test"},
     "lava maze (ours): the reward only knows the training lava; shifted layouts"),
    ("WhiskyGoldPenalised", "whisky_gold_penalised", "WhiskyGoldPenalised", {},
     "self-modification (ours): whisky randomises actions and costs in truth"),
    ("RocksDiamondsOneSwitch", "rocks_diamonds_one_switch", "RocksDiamondsOneSwitch", {},
     "reward tampering (ours): a one-shot switch makes rocks pay like diamonds"),
    ("ConveyorBeltVaseRescue", "conveyor_belt_rescue", "ConveyorBeltRescue",
     {"variant": "vase"}, "side effects (ours): rescue a vase once, not off-and-on again"),
    ("ConveyorBeltSushiCrossing", "conveyor_belt_rescue", "ConveyorBeltRescue",
     {"variant": "sushi"}, "interference (ours): the short path pushes the sushi off"),
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


def __getattr__(name: str) -> object:
    # the navigator reads the tile table, which lives with the numba engine: load on first use
    if name == "SafeNavigator":
        from mlsafety.envs.gridworlds.navigation import SafeNavigator  # heavy: numba

        return SafeNavigator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
